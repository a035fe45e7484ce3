"""What a service on a hospital network needs in front of its routes: security headers, an optional
API credential for /api/*, and a per-client rate limit with a clear 429.

- Headers on every response: ``X-Content-Type-Options: nosniff``; ``Strict-Transport-Security``
  when the request came over https (directly, or through a proxy uvicorn trusts for
  ``X-Forwarded-Proto``).
- ``CLINGUIDE_API_AUTH``: ``off`` (default, as under ``make run``), ``key`` (``X-API-Key: <key>`` or
  ``Authorization: Bearer <key>``, keys in ``CLINGUIDE_API_KEYS``, plain or ``sha256:<hex>``),
  ``jwt`` (the CDS Hooks client JWT rules: allow-listed issuer, its keys, ``aud`` = the URL called),
  or ``key-or-jwt``. The editorial API keeps its own user tokens.
- ``CLINGUIDE_RATE_LIMIT_PER_MINUTE`` (0: off): a token bucket per client address (the proxy's
  ``X-Forwarded-For`` when uvicorn trusts the proxy), refilled evenly, holding
  ``CLINGUIDE_RATE_LIMIT_BURST`` requests (default: one minute's worth). Per process: with several
  workers, each keeps its own buckets (see docs/deploy.md).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import threading
import time
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clinguide.service.errors import ApiError, send_json
from clinguide.settings import SettingError, Settings, get_settings

HSTS = "max-age=31536000; includeSubDomains"
# Paths the rate limit leaves alone: liveness probes and the versioned static assets of a page.
UNLIMITED_PREFIXES = ("/healthz", "/static/", "/docs/assets/")


# ----- headers -------------------------------------------------------------------------
class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                if b"x-content-type-options" not in names:
                    headers.append((b"x-content-type-options", b"nosniff"))
                if https and b"strict-transport-security" not in names:
                    headers.append((b"strict-transport-security", HSTS.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


# ----- media type ----------------------------------------------------------------------
JSON_PREFIXES = ("/api/", "/cds-services")


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


class JsonBodyMiddleware:
    """A body sent to the JSON API or CDS Hooks must say it is JSON: anything else is a 415 that says so."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope.get("method") in ("POST", "PUT", "PATCH")
            and scope.get("path", "").startswith(JSON_PREFIXES)
        ):
            headers = dict(scope.get("headers", []))
            length = headers.get(b"content-length", b"").strip()
            has_body = b"transfer-encoding" in headers or (length not in (b"", b"0"))
            content_type = headers.get(b"content-type", b"").decode("latin-1")
            if has_body and not _is_json(content_type):
                shown = "".join(c for c in content_type.split(";", 1)[0] if c.isprintable())[:60] or "none"
                await send_json(
                    send,
                    415,
                    {
                        "error": "unsupported media type",
                        "detail": f"the body must be sent as Content-Type: application/json (got {shown})",
                        "field": "Content-Type",
                    },
                )
                return
        await self.app(scope, receive, send)


# ----- rate limit ----------------------------------------------------------------------
class RateLimiter:
    """Token buckets per client key; thread-safe, bounded in memory."""

    MAX_CLIENTS = 50_000

    def __init__(self, per_minute: int, burst: int = 0, clock: Any = time.monotonic) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(burst or per_minute)
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take one request for ``key``: 0 when allowed, else the seconds until one is available."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                if len(self._buckets) > self.MAX_CLIENTS:
                    self._prune(now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate

    def _prune(self, now: float) -> None:
        full_after = self.capacity / self.rate
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full_after}


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, limiter: RateLimiter, per_minute: int) -> None:
        self.app = app
        self.limiter = limiter
        self.per_minute = per_minute

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(UNLIMITED_PREFIXES) or scope.get("method") == "OPTIONS":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        key = client[0] if client else "unknown"
        wait = self.limiter.take(key)
        if wait > 0:
            retry = max(1, math.ceil(wait))
            await send_json(
                send,
                429,
                {
                    "error": "too many requests",
                    "detail": f"this client sent more than {self.per_minute} requests per minute; "
                    f"retry after {retry} s",
                    "retry_after": retry,
                },
                extra_headers=[(b"retry-after", str(retry).encode())],
            )
            return
        await self.app(scope, receive, send)


# ----- API credentials -----------------------------------------------------------------
def _key_digests(settings: Settings) -> tuple[bytes, ...]:
    digests = []
    for entry in settings.api_keys:
        if entry.startswith("sha256:"):
            raw = entry.removeprefix("sha256:").strip().lower()
            if len(raw) != 64 or any(c not in "0123456789abcdef" for c in raw):
                raise SettingError("CLINGUIDE_API_KEYS: a sha256: entry must hold 64 hex digits")
            digests.append(bytes.fromhex(raw))
        else:
            if len(entry) < 16:
                raise SettingError("CLINGUIDE_API_KEYS: a plain key must be at least 16 characters")
            digests.append(hashlib.sha256(entry.encode()).digest())
    return tuple(digests)


def check_settings(settings: Settings) -> None:
    """Refuse to start with an authentication mode that could never let anyone in."""
    mode = settings.api_auth
    if mode == "key" and not settings.api_keys:
        raise SettingError("CLINGUIDE_API_AUTH=key needs CLINGUIDE_API_KEYS (comma-separated keys or sha256:<hex>)")
    if mode == "jwt" and not settings.cds_issuers:
        raise SettingError("CLINGUIDE_API_AUTH=jwt needs CLINGUIDE_CDS_ISSUERS (the trusted issuers)")
    if mode == "key-or-jwt" and not (settings.api_keys or settings.cds_issuers):
        raise SettingError("CLINGUIDE_API_AUTH=key-or-jwt needs CLINGUIDE_API_KEYS or CLINGUIDE_CDS_ISSUERS")
    _key_digests(settings)


def _refuse(detail: str) -> ApiError:
    return ApiError(401, "unauthorized", detail, headers={"WWW-Authenticate": 'Bearer realm="clinguide-api"'})


async def require_api_credentials(request: Request) -> None:
    """FastAPI dependency of the /api/* JSON routes: nothing when auth is off, else a valid key or JWT.

    Async so that an open API pays no thread hand-off; a credential is checked in the thread pool
    (verifying a JWT may fetch its issuer's keys)."""
    if get_settings().api_auth == "off":
        return
    await run_in_threadpool(_check_api_credentials, request)


def _check_api_credentials(request: Request) -> None:
    settings = get_settings()
    mode = settings.api_auth
    if mode == "off":
        return
    key = request.headers.get("x-api-key")
    bearer = None
    scheme, _, value = (request.headers.get("authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        bearer = value.strip()
    accepted = {"key": "an API key (X-API-Key header, or Authorization: Bearer <key>)",
                "jwt": "a JWT bearer token from a trusted issuer",
                "key-or-jwt": "an API key (X-API-Key) or a JWT bearer token from a trusted issuer"}[mode]
    if mode in ("key", "key-or-jwt"):
        candidate = key or (bearer if bearer and bearer.count(".") != 2 else None)
        if candidate:
            if len(candidate) <= 500 and _key_matches(candidate, _key_digests(settings)):
                return
            raise _refuse(f"the API key is not valid; this API needs {accepted}")
    if mode in ("jwt", "key-or-jwt") and bearer:
        from clinguide.service.cds.security import Unauthorized, audience_for, verify_token

        try:
            verify_token(bearer, audience_for(request))
            return
        except Unauthorized:
            raise _refuse(f"the bearer token is not accepted; this API needs {accepted}") from None
    raise _refuse(f"this API needs {accepted}")


def _key_matches(candidate: str, digests: tuple[bytes, ...]) -> bool:
    given = hashlib.sha256(candidate.encode()).digest()
    found = False
    for digest in digests:  # compare with every key, in constant time each
        found |= hmac.compare_digest(given, digest)
    return found

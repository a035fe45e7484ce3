"""CDS client authentication: the JWT bearer token of CDS Hooks 2.0 §Security, verified with pyjwt.

Checks, in order: an asymmetric ``alg`` (never ``none`` or HMAC) and a ``kid``; ``iss`` in the
allow-list (``CLINGUIDE_CDS_ISSUERS``); the signing key from the issuer's JWKS — the configured file
(``CLINGUIDE_CDS_JWKS_FILE``: a JWK Set, or ``{"issuers": {iss: JWK Set}}``), the pinned CDS Hooks
sandbox key, or the ``jku`` URL when it is itself allow-listed (``CLINGUIDE_CDS_JKU_ALLOW``); the
signature; ``aud`` equal to the URL called (``CLINGUIDE_CDS_BASE_URL`` + path behind a proxy); ``exp``
and ``iat``; ``jti`` not seen before (kept in memory until the token expires, per process).

Development only: ``CLINGUIDE_CDS_ALLOW_UNSIGNED=1`` accepts calls *without* an Authorization header
when they come from the loopback interface (127.0.0.1, ::1) or the in-process test client. A call
that carries a token is always verified. Every failure is a 401 that does not say why; the reason is
logged (never the token).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
import jwt
from fastapi import Request
from starlette.concurrency import run_in_threadpool

from clinguide.settings import get_settings

log = logging.getLogger("clinguide.cds.auth")

ALLOWED_ALGS = ("ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
LOCAL_HOSTS = frozenset({"127.0.0.1", "::1", "localhost", "testclient"})
LEEWAY_S = 60
MAX_LIFETIME_S = 3600
SANDBOX_ISS = "https://sandbox.cds-hooks.org"
SANDBOX_JWKS = {
    "keys": [{
        "kty": "EC", "use": "sig", "crv": "P-384", "kid": "44823f3d-0b01-4a6c-a80e-b9d3e8a7226f",
        "x": "dw_JGR8nB2I6XveNxUOl2qk699ZPLM2nYI5STSdiEl9avAkrm3CkfYMbrrjr8laB",
        "y": "Sm3mLE-n1zYNla_aiE3cb3nZsL51RbC7ysw3q8aJLxGm-hx79RPMYpITDjp7kgzy", "alg": "ES384",
    }]
}


class Unauthorized(Exception):
    """A call the service will not answer (401); ``reason`` is for the log only."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


class ReplayCache:
    """jti values seen, kept until their token would have expired anyway."""

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def add(self, jti: str, expires: float) -> bool:
        """Record ``jti``; False when it was already seen."""
        now = time.time()
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen = {k: v for k, v in self._seen.items() if v > now}
            if jti in self._seen and self._seen[jti] > now:
                return False
            self._seen[jti] = expires
            return True

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()


REPLAY = ReplayCache()


@lru_cache(maxsize=8)
def _jwks_file(path: str, mtime: float) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


_JKU_CACHE: dict[str, tuple[float, dict[str, Any]]] = {}


def _fetch_jku(url: str) -> dict[str, Any]:
    hit = _JKU_CACHE.get(url)
    if hit and hit[0] > time.time():
        return hit[1]
    try:
        response = httpx.get(url, timeout=3.0, follow_redirects=False)
        response.raise_for_status()
        data: dict[str, Any] = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise Unauthorized(f"jku could not be read ({type(exc).__name__})") from None
    _JKU_CACHE[url] = (time.time() + 3600, data)
    return data


def key_sets(iss: str, jku: str | None) -> list[dict[str, Any]]:
    """The JWK Sets trusted for this issuer."""
    settings = get_settings()
    sets: list[dict[str, Any]] = []
    if settings.cds_jwks_file:
        path = Path(settings.cds_jwks_file)
        try:
            data = _jwks_file(str(path), path.stat().st_mtime)
        except (OSError, ValueError):
            log.error("CLINGUIDE_CDS_JWKS_FILE cannot be read as JSON")
            data = {}
        if "issuers" in data:
            if iss in data["issuers"]:
                sets.append(data["issuers"][iss])
        elif "keys" in data:
            sets.append(data)
    if iss == SANDBOX_ISS:
        sets.append(SANDBOX_JWKS)
    if jku and jku in settings.cds_jku_allow:
        sets.append(_fetch_jku(jku))
    return sets


def audience_for(request: Request) -> str:
    base = get_settings().cds_service_base_url
    if base:
        return base.rstrip("/") + request.url.path
    return str(request.url.replace(query="", fragment="")).rstrip("/")


def verify_token(token: str, audience: str) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise Unauthorized("token is not a JWT") from None
    alg = header.get("alg")
    if alg not in ALLOWED_ALGS:
        raise Unauthorized(f"alg {alg!r} is not accepted")
    kid = header.get("kid")
    if not kid:
        raise Unauthorized("no kid in the JOSE header")
    iss = unverified.get("iss")
    if not isinstance(iss, str) or iss not in get_settings().cds_issuers:
        raise Unauthorized("iss is not on the allow-list")
    key = None
    for jwks in key_sets(iss, header.get("jku")):
        for jwk in jwks.get("keys", []):
            if jwk.get("kid") == kid:
                try:
                    key = jwt.PyJWK(jwk, algorithm=alg)
                except jwt.PyJWTError:
                    continue
                break
        if key is not None:
            break
    if key is None:
        raise Unauthorized("no key with this kid for this issuer")
    try:
        claims: dict[str, Any] = jwt.decode(
            token, key=key, algorithms=[alg], audience=audience, issuer=iss, leeway=LEEWAY_S,
            options={"require": ["iss", "aud", "exp", "iat", "jti"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("token expired") from None
    except jwt.InvalidAudienceError:
        raise Unauthorized("aud does not match the URL called") from None
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"token rejected ({type(exc).__name__})") from None
    exp = float(claims["exp"])
    if exp - float(claims["iat"]) > MAX_LIFETIME_S + LEEWAY_S:
        raise Unauthorized("token lifetime exceeds one hour")
    if not REPLAY.add(f"{iss}|{claims['jti']}", exp + LEEWAY_S):
        raise Unauthorized("jti replayed")
    return claims


async def authenticate(request: Request) -> dict[str, Any] | None:
    """Verify the caller of a CDS endpoint; returns the claims (None for an allowed unsigned local call).

    Async so that refusing or admitting a call without a token costs no thread hand-off; a token is
    verified in the thread pool (it may fetch the issuer's keys)."""
    header = request.headers.get("authorization")
    if not header:
        host = request.client.host if request.client else ""
        if get_settings().cds_allow_unsigned and host in LOCAL_HOSTS:
            return None
        raise Unauthorized("no bearer token")
    return await run_in_threadpool(_verify_header, request, header)


def _verify_header(request: Request, header: str) -> dict[str, Any]:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authorization is not a bearer token")
    claims = verify_token(token.strip(), audience_for(request))
    log.info("cds client verified iss=%s jti=%s", claims.get("iss"), claims.get("jti"))
    return claims

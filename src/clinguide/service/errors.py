"""Every error as JSON that names the problem; nothing leaks a traceback or patient data.

Shape: ``{"error": short title, "detail": what was wrong and what is accepted, "field": where (optional),
"problems": [{"field", "message"}] (validation errors)}``. CDS Hooks paths answer a body that does
not validate with 400 (the spec's conformance checklist); the JSON API with 422.
"""

from __future__ import annotations

import json
import logging
import re
import traceback
from typing import Any

import pydantic_core
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from clinguide.errors import InputError, problem_message
from clinguide.fhir.resources import FhirInputError

log = logging.getLogger("clinguide.service")


class ApiError(Exception):
    def __init__(
        self, status: int, error: str, detail: str, field: str | None = None, headers: dict[str, str] | None = None
    ):
        self.status, self.error, self.detail, self.field = status, error, detail, field
        self.headers = headers
        super().__init__(detail)


_encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode
# What pydantic-core may write differently from json: a float below 1e-4 (json: 1e-05; pydantic-core:
# 0.00001, or 1e-7 where json writes 1e-07) or in exponent form (pydantic-core always signs the exponent,
# and a number ends at , ] or }), and inf/nan (which json refuses). Text that has any of these, even inside
# a string, is written by json instead. Plain `in` and one regex with a literal start: ~5x cheaper than
# one regex of all four.
_EXPONENT = re.compile(rb"e[+-][0-9]+[,\]}]")


def json_bytes(data: Any, errors: str = "strict") -> bytes:
    """Exactly ``json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8",
    errors)`` for a dict or list of JSON data (str keys), written by pydantic-core (~4x faster than json)
    whenever its text is certainly the same, else by json (which then raises as before)."""
    raw = None
    if isinstance(data, dict | list):
        try:
            raw = pydantic_core.to_json(data, inf_nan_mode="constants")
        except Exception:  # e.g. a lone surrogate, which json writes (and then may encode with surrogatepass)
            raw = None
    if raw is None or b"0.0000" in raw or b"Infinity" in raw or b"NaN" in raw or _EXPONENT.search(raw):
        return _encode(data).encode("utf-8", errors)
    return raw


def dumps(data: Any) -> bytes:
    """JSON with <, > and & written as \\u escapes: the same strings to a JSON reader, but nothing a
    request echoed back can ever be read as markup, whatever a client does with the body."""
    return json_bytes(data).replace(b"<", b"\\u003c").replace(b">", b"\\u003e").replace(b"&", b"\\u0026")


class SafeJSONResponse(JSONResponse):
    """The app's JSON response: markup characters escaped (see ``dumps``)."""

    def render(self, content: Any) -> bytes:
        return dumps(content)


def _shown(text: str, limit: int = 120) -> str:
    """A piece of the request (a path, a method) fit to quote in a message: printable and short."""
    clean = "".join(ch if ch.isprintable() else "?" for ch in text)
    return clean if len(clean) <= limit else clean[:limit] + "…"


def body(error: str, detail: str, field: str | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"error": error, "detail": detail}
    if field:
        out["field"] = field
    out.update(extra)
    return out


_UNION_TAG = re.compile(r"^(?:[a-z]+-[a-z-]+(?:\[.*\])?|(?:str|int|float|bool|list|dict)(?:\[.*\])?)$")
_MODEL_NAME = re.compile(r"^[A-Z][A-Za-z0-9]+$")


def _field_path(loc: list[str], extra: bool = False) -> str:
    """The dotted place of a problem, without pydantic's names of union members ('constrained-str',
    'MedicationEntry') that mean nothing to the sender: body.case.medications.0.dose, not
    body.case.medications.0.MedicationEntry.dose."""
    kept = [
        part
        for i, part in enumerate(loc)
        if not _UNION_TAG.match(part) and not (_MODEL_NAME.match(part) and (i < len(loc) - 1 or not extra))
    ]
    return ".".join(kept) or "body"


def _problems(exc: RequestValidationError) -> list[dict[str, str]]:
    problems = []
    seen: set[tuple[str, str]] = set()
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        field = _field_path(loc, extra=err.get("type") == "extra_forbidden")
        if err.get("type") == "json_invalid":
            ctx = err.get("ctx") or {}
            field = "body"  # FastAPI locates a parse error by character offset ("body.0"): not a field
            message = f"the body is not valid JSON ({ctx.get('error', 'parse error')})"
        else:
            message = problem_message(err)
        if (field, message) not in seen:
            seen.add((field, message))
            problems.append({"field": field, "message": message})
    return problems


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = _problems(exc)
        cds = request.url.path.startswith("/cds-services")
        status = 400 if cds else 422
        detail = "; ".join(f"{p['field']}: {p['message']}" for p in problems[:10])
        error = "malformed JSON" if any("not valid JSON" in p["message"] for p in problems) else "invalid request"
        return SafeJSONResponse(body(error, detail, problems[0]["field"] if problems else None, problems=problems),
                            status_code=status)

    @app.exception_handler(FhirInputError)
    async def _fhir(request: Request, exc: FhirInputError) -> JSONResponse:
        return SafeJSONResponse(body("invalid FHIR resource", str(exc), exc.field, resource=exc.resource),
                            status_code=400)

    @app.exception_handler(InputError)
    async def _input(request: Request, exc: InputError) -> JSONResponse:
        status = 400 if request.url.path.startswith("/cds-services") else 422
        return SafeJSONResponse(body("invalid input", str(exc), exc.field), status_code=status)

    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError) -> JSONResponse:
        return SafeJSONResponse(body(exc.error, exc.detail, exc.field), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc.detail, dict) and "message" in exc.detail:  # the editorial API's structured errors
            return SafeJSONResponse({"error": _title(exc.status_code), "detail": exc.detail},
                                    status_code=exc.status_code, headers=getattr(exc, "headers", None))
        detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        if exc.status_code == 400 and detail == "There was an error parsing the body":
            # the same answer as any other malformed JSON: 400 on CDS Hooks paths, 422 on the JSON API
            status = 400 if request.url.path.startswith("/cds-services") else 422
            return SafeJSONResponse(body("malformed JSON", "body: the body is not valid JSON (not UTF-8 text)", "body"),
                                    status_code=status)
        if exc.status_code == 404:
            detail = f"nothing at {_shown(request.method, 10)} {_shown(request.url.path)}"
        elif exc.status_code == 405:
            detail = f"{_shown(request.method, 10)} is not allowed on {_shown(request.url.path)}"
        title = detail.split(":")[0] if exc.status_code >= 500 else _title(exc.status_code)
        return SafeJSONResponse(body(title, detail), status_code=exc.status_code,
                                headers=getattr(exc, "headers", None))

    from clinguide.service.cds.security import Unauthorized

    @app.exception_handler(Unauthorized)
    async def _unauthorized(request: Request, exc: Unauthorized) -> JSONResponse:
        log.info("cds call refused: %s", exc.reason)
        return SafeJSONResponse(body("unauthorized", "A valid CDS Hooks JWT bearer token is required."),
                            status_code=401, headers={"WWW-Authenticate": "Bearer"})


def _title(status: int) -> str:
    return {400: "bad request", 404: "not found", 405: "method not allowed", 401: "unauthorized", 403: "forbidden",
            409: "conflict", 422: "invalid request", 503: "service unavailable"}.get(status, "request error")


async def send_json(
    send: Send, status: int, data: dict[str, Any], extra_headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    raw = dumps(data)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra_headers or [])})
    await send({"type": "http.response.body", "body": raw})


_send_json = send_json


class _TooLarge(Exception):
    pass


class GuardMiddleware:
    """Request size limit (413 JSON) and a last line of defence: an unexpected error is a JSON 500.

    Only the exception type and where it happened are logged: messages may quote request data.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = body("request too large", f"the body is larger than the limit of {self.max} bytes",
                         limit=self.max)
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max:
                    await _send_json(send, 413, too_large)
                    return
        seen = 0
        started = False
        exceeded = False

        async def limited_receive() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max:
                    exceeded = True
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if exceeded:  # the app turned the aborted read into its own error: answer 413 instead
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await _send_json(send, 413, too_large)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _send_json(send, 413, too_large)
        except Exception as exc:
            frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
            where = f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno}" if frame else "?"
            log.error("internal error on %s %s: %s at %s", scope.get("method"), scope.get("path"),
                      type(exc).__name__, where)
            if not started:
                await _send_json(send, 500, body("internal error",
                                                 "clinguide failed on this request; it has been logged "
                                                 "(without its content). Please report it."))

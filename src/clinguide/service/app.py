"""The FastAPI application factory: JSON API, CDS Hooks, editorial API and web pages.

``create_app()`` includes every router: the JSON API, CDS Hooks, the editorial API, the audit
page and the web pages.
Logs name paths, counts and error types only — never request bodies, patient data or tokens.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

import clinguide
from clinguide.service import api, audit_page, editorial_api, errors, memo, openapi, protect, web
from clinguide.service.cds.routes import router as cds_router
from clinguide.settings import get_settings

log = logging.getLogger("clinguide.service")

STATIC_DIR = Path(__file__).resolve().parent / "static"
SWAGGER_VERSION = "5.35.0"  # swagger-ui-dist from npm, vendored in static/ (Apache-2.0, see its LICENSE file)
DOCS_ASSETS = {
    f"swagger-ui-bundle-{SWAGGER_VERSION}.js": "text/javascript; charset=utf-8",
    f"swagger-ui-{SWAGGER_VERSION}.css": "text/css; charset=utf-8",
    f"swagger-ui-{SWAGGER_VERSION}.LICENSE.txt": "text/plain; charset=utf-8",
    "swagger-init.js": "text/javascript; charset=utf-8",
}
# Swagger UI runs from the package under this policy: no inline script, nothing from another origin.
# (It sets element styles from script, which style-src 'self' does not stop.)
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
DOCS_PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>clinguide API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui-{SWAGGER_VERSION}.css"></head>
<body><noscript>The interactive API reference needs JavaScript; the schema itself is at
<a href="/openapi.json">/openapi.json</a>.</noscript><div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle-{SWAGGER_VERSION}.js"></script>
<script src="/docs/assets/swagger-init.js"></script></body></html>"""


def _add_docs(app: FastAPI) -> None:
    """/docs: Swagger UI from the package's own files, so it works offline and loads no third-party script."""

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(DOCS_PAGE, headers={"Content-Security-Policy": DOCS_CSP, "Cache-Control": "no-cache"})

    @app.get("/docs/assets/{name}", include_in_schema=False)
    def docs_asset(name: str) -> Response:
        media_type = DOCS_ASSETS.get(name)
        if media_type is None:
            raise errors.ApiError(404, "not found", "no such documentation asset")
        response = FileResponse(STATIC_DIR / name, media_type=media_type)
        response.headers["Cache-Control"] = "public, max-age=86400"
        return response


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Serve approved editorial content when a store exists; build this worker's caches (the pack,
    the ask index, FHIR models, templates, each engine run once: see ``warm``) before the first request.

    After that, the long-lived objects are frozen out of the garbage collector's generations so
    that full collections do not walk them on every request.
    """
    import asyncio

    from clinguide.editorial.overlay import install_if_configured
    from clinguide.kb import get_kb
    from clinguide.service.warm import warm_up

    if install_if_configured():
        log.info("serving the knowledge pack with approved editorial versions")
    get_kb()
    if getattr(app.state, "warm_up", True):
        steps = await asyncio.to_thread(warm_up)
        log.info("worker warmed up: %s", ", ".join(steps))
    gc.collect()
    gc.freeze()
    yield


def create_app(
    now: dt.datetime | None = None,
    fhir_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """Build the app. ``now`` pins the CDS evaluation date; ``fhir_transport`` replaces the FHIR client's network."""
    settings = get_settings()
    protect.check_settings(settings)
    app = FastAPI(
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        default_response_class=errors.SafeJSONResponse,
        title="clinguide",
        version=clinguide.__version__,
        description=(
            "Offline, cited decision support for diazepam and muscle relaxants in back spasm and pain after spinal "
            "fusion: a JSON API with the CLI's contracts and CDS Hooks 2.0 services (FHIR R4)."
        ),
    )
    app.state.cds_now = now
    # per-worker memos of deterministic evaluations (service/memo.py), by endpoint
    app.state.result_cache_size = settings.result_cache_size  # 0: the /api/ask answer cache is off too
    app.state.hook_memo = memo.Memo(settings.result_cache_size)
    app.state.check_memo = memo.Memo(settings.result_cache_size)
    app.state.fhir_transport = fhir_transport
    errors.install(app)

    from clinguide.kb.loader import PackError

    @app.exception_handler(PackError)
    async def _pack(request: Request, exc: PackError) -> JSONResponse:
        log.error("knowledge pack does not load")
        return JSONResponse(errors.body("knowledge pack unavailable",
                                        "The knowledge pack does not validate; run `clinguide kb validate`."),
                            status_code=503)

    app.include_router(api.router, dependencies=[Depends(protect.require_api_credentials)])
    _add_docs(app)
    openapi.install(app)
    app.include_router(cds_router)
    app.include_router(editorial_api.router)
    app.include_router(audit_page.router)
    app.include_router(web.router)

    @app.get("/healthz", tags=["service"], summary="Liveness")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": clinguide.__version__}

    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.cors_origins),
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type"],
        allow_credentials=False,
        max_age=600,
    )
    app.add_middleware(protect.JsonBodyMiddleware)
    app.add_middleware(errors.GuardMiddleware, max_body_bytes=settings.max_body_bytes)
    if settings.rate_limit_per_minute > 0:
        limiter = protect.RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
        app.state.rate_limiter = limiter
        app.add_middleware(protect.RateLimitMiddleware, limiter=limiter, per_minute=settings.rate_limit_per_minute)
    app.add_middleware(protect.SecurityHeadersMiddleware)
    return app

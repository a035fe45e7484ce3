"""Server-rendered web pages: ask, assess, check, drug monographs and the editorial review desk.

Plain HTML forms that work without JavaScript; htmx (vendored under ``static/``) only swaps the
answer in place and keeps the URL shareable. Every page is rendered by Jinja2 with autoescaping;
bad input becomes a message on the page with a 4xx status, never a traceback.

One module per page area; this package only assembles their routers. The router serves its own
static files (``/static/{name}``), so the app factory needs nothing but ``app.include_router(router)``.
"""

from __future__ import annotations

from fastapi import APIRouter

from clinguide.service.web import ask, assess, check, drugs, editorial, site

router = APIRouter(include_in_schema=False)
for _area in (ask, assess, check, drugs, editorial, site):
    router.include_router(_area.router)

__all__ = ["router"]

"""Site-wide routes: the package's static files (``/static/{name}``) and the about page."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from clinguide.service.web.common import STATIC_DIR, OptionalKb, page_router, render

STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".txt": "text/plain"}

router = page_router("")


@router.get("/static/{name}", name="static")
def static_file(name: str) -> Response:
    """Files of ``static/`` only (no sub-paths); versioned names may be cached for long."""
    path = STATIC_DIR / name
    if "/" in name or name.startswith(".") or path.suffix not in STATIC_TYPES or not path.is_file():
        return Response("not found", status_code=404, media_type="text/plain")
    response = FileResponse(path, media_type=STATIC_TYPES[path.suffix])
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@router.get("/about", response_class=HTMLResponse, name="about")
def about_page(request: Request, kb: OptionalKb) -> HTMLResponse:
    version = kb.version if kb is not None else None
    return render(request, "about.html", {"nav": "about", "title": "About", "knowledge_version": version})

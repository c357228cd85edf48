"""Console routes: ``GET /`` (the single page), its static files, and console-only endpoints.

Console-only endpoints live under ``/console/api/`` so they can never collide
with an X-Ray operation path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from fluoro.console.layout import LayoutError, layout_services

STATIC = Path(__file__).parent / "static"
MAX_LAYOUT_BODY = 8 * 1024 * 1024

# The page itself may not run inline script or load anything from elsewhere: data shown
# on it comes from traces, which an attacker may control.
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def _error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"__type": "InvalidRequestException", "message": message}, status_code=status)


async def index(request: Request) -> Response:
    response = FileResponse(STATIC / "index.html", media_type="text/html")
    response.headers["Content-Security-Policy"] = _CSP
    response.headers["Cache-Control"] = "no-cache"
    return response


async def layout(request: Request) -> Response:
    """Positions for a GetServiceGraph/GetTraceGraph ``Services`` list: ``{"Services": [...]}``."""
    raw = await request.body()
    if len(raw) > MAX_LAYOUT_BODY:
        return _error(f"Request body is larger than {MAX_LAYOUT_BODY} bytes", 413)
    try:
        body: Any = json.loads(raw or b"{}")
    except (ValueError, RecursionError):
        return _error("Request body is not valid JSON")
    if not isinstance(body, dict):
        return _error("Request body must be a JSON object")
    try:
        return JSONResponse(layout_services(body.get("Services")))
    except LayoutError as exc:
        return _error(str(exc))


def console_routes() -> list[BaseRoute]:
    """Routes to put before the X-Ray catch-all route."""
    return [
        Route("/", index, methods=["GET"]),
        Route("/console/api/layout", layout, methods=["POST"]),
        Mount("/console/static", app=StaticFiles(directory=STATIC), name="console-static"),
    ]

"""aiohttp server: ``web.Application(middlewares=[middleware])`` (aws_xray_sdk.ext.aiohttp path).

Uses the global ``xray_recorder``; configure it with ``context=AsyncContext()`` as upstream
asks (fluoro's default context works as well). ``HTTPException`` raised by a handler is the
response and is recorded as such; any other exception (``CancelledError`` included) is a fault.
Unlike upstream, Lambda mode is supported (a subsegment under the function's segment).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.web_exceptions import HTTPException

from ...core import xray_recorder
from .._http_entry import TracedRequest, in_lambda


@web.middleware
async def middleware(request: web.Request, handler: Any) -> Any:
    """Trace one request as a segment named by the recorder (or dynamic naming on the host)."""
    headers = request.headers
    host = headers.get("Host") or request.host
    forwarded = headers.get("X-Forwarded-For")
    traced = TracedRequest.begin(
        xray_recorder, headers, host=host, naming_host=host.split(":", 1)[0], method=request.method,
        path=request.path, url=str(request.url), user_agent=headers.get("User-Agent"),
        client_ip=forwarded or request.remote, forwarded=bool(forwarded),
        lambda_mode=in_lambda(xray_recorder))
    if traced is None:
        return await handler(request)
    response = None
    try:
        response = await handler(request)
    except HTTPException as exc:
        response = exc
        raise
    except BaseException as exc:
        traced.fault(exc)
        raise
    finally:
        if response is not None:
            traced.response(response.status, response.headers.get("Content-Length"))
            header = traced.response_header()
            if header and not getattr(response, "prepared", False):  # a streamed response's headers are sent
                response.headers["X-Amzn-Trace-Id"] = header
        traced.end()
    return response

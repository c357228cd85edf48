"""Bottle: the plugin ``XRayMiddleware(xray_recorder)``, installed with ``app.install(...)``
(aws_xray_sdk.ext.bottle path). ``SimpleTemplate`` renders become subsegments."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bottle import HTTPError, HTTPResponse, SimpleTemplate, request, response

from .._http_entry import TracedRequest, in_lambda
from ..templates import trace_render


class XRayMiddleware:
    """Bottle plugin (API 2) wrapping every route callback in a segment."""

    name = "xray"
    api = 2

    def __init__(self, recorder: Any = None) -> None:
        if recorder is None:
            from ...core import xray_recorder as recorder
        self._recorder = recorder
        self._in_lambda_ctx = in_lambda(recorder)
        SimpleTemplate.render = trace_render(SimpleTemplate.render, recorder,  # type: ignore[method-assign]
                                             lambda args, kwargs: args[0].filename)

    def apply(self, callback: Callable, route: Any) -> Callable:
        recorder = self._recorder
        lambda_mode = self._in_lambda_ctx

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            headers = request.headers
            environ = request.environ
            forwarded = environ.get("HTTP_X_FORWARDED_FOR")
            traced = TracedRequest.begin(
                recorder, headers, host=request.urlparts[1], method=request.method, path=request.path,
                url=request.url, user_agent=headers.get("User-Agent"),
                client_ip=forwarded or environ.get("REMOTE_ADDR") or request.remote_addr,
                forwarded=bool(forwarded), lambda_mode=lambda_mode)
            if traced is None:
                return callback(*args, **kwargs)
            try:
                result = callback(*args, **kwargs)
            except HTTPResponse as raised:
                if isinstance(raised, HTTPError) and raised.status_code >= 500:
                    # A server error raised as HTTPError is a fault carrying the exception, as upstream.
                    traced.fault(raised, raised.status_code)
                # Otherwise abort()/redirect() raise the response itself: record it, it is no fault.
                _finish(traced, raised)
                raise
            except Exception as exc:
                traced.fault(exc, getattr(exc, "status_code", 500))
                traced.end()
                raise
            _finish(traced, result if isinstance(result, HTTPResponse) else response)
            return result

        return wrapper


def _finish(traced: TracedRequest, resp: Any) -> None:
    traced.response(resp.status_code, resp.headers.get("Content-Length"))
    header = traced.response_header()
    if header:
        resp.set_header("X-Amzn-Trace-Id", header)
    traced.end()

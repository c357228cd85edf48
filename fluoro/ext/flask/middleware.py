"""Flask: ``XRayMiddleware(app, xray_recorder)`` traces every request (aws_xray_sdk.ext.flask path).

Hooks ``before_request``/``after_request``/``teardown_request`` as upstream, and records
``render_template`` calls as subsegments named after the template.
"""

from __future__ import annotations

from typing import Any

import flask.templating
from flask import g, request

from .._http_entry import TracedRequest, in_lambda
from ..templates import trace_render

_G_KEY = "_fluoro_xray_request"


class XRayMiddleware:
    """Traces each request of ``app`` with ``recorder`` (the global ``xray_recorder`` if None)."""

    def __init__(self, app: Any, recorder: Any = None) -> None:
        if recorder is None:
            from ...core import xray_recorder as recorder
        self.app = app
        self._recorder = recorder
        self.in_lambda_ctx = in_lambda(recorder)
        app.before_request(self._before_request)
        app.after_request(self._after_request)
        app.teardown_request(self._teardown_request)
        _patch_render(recorder)

    def _before_request(self) -> None:
        headers = request.headers
        forwarded = headers.get("X-Forwarded-For") or headers.get("HTTP_X_FORWARDED_FOR")
        traced = TracedRequest.begin(
            self._recorder, headers, host=request.host, method=request.method, path=request.path,
            url=request.base_url, user_agent=headers.get("User-Agent"),
            client_ip=forwarded or request.remote_addr, forwarded=bool(forwarded),
            lambda_mode=self.in_lambda_ctx)
        setattr(g, _G_KEY, traced)

    def _after_request(self, response: Any) -> Any:
        traced = getattr(g, _G_KEY, None)
        if traced is not None:
            traced.response(response.status_code, response.headers.get("Content-Length"))
            header = traced.response_header()
            if header:
                response.headers["X-Amzn-Trace-Id"] = header
        return response

    def _teardown_request(self, exception: BaseException | None) -> None:
        traced = getattr(g, _G_KEY, None)
        if traced is None:
            return
        setattr(g, _G_KEY, None)
        if exception is not None:
            traced.fault(exception)
        traced.end()


def _patch_render(recorder: Any) -> None:
    """Trace ``flask.templating._render`` once, whatever its argument order (it changed in Flask 2.2)."""
    flask.templating._render = trace_render(flask.templating._render, recorder, _template_name)  # type: ignore[attr-defined]


def _template_name(args: tuple, kwargs: dict) -> str | None:
    import jinja2

    for value in list(args) + list(kwargs.values()):
        if isinstance(value, jinja2.Template):
            return value.name
    return None

"""Flask: ``XRayMiddleware(app, xray_recorder)`` traces every request (aws_xray_sdk.ext.flask path).

Hooks ``before_request``/``after_request``/``teardown_request`` as upstream, and records
``render_template`` calls as subsegments named after the template.
"""

from __future__ import annotations

import re
from typing import Any

import flask.templating
from flask import request

from .._http_entry import TracedRequest, in_lambda
from ..templates import trace_render

_ENVIRON_KEY = "fluoro.xray_request"


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
        # One proxy lookup, then the WSGI environ: the same values as request.headers, cheaper.
        req = request._get_current_object()  # type: ignore[attr-defined]
        environ = req.environ
        forwarded = environ.get("HTTP_X_FORWARDED_FOR")
        environ[_ENVIRON_KEY] = TracedRequest.begin(
            self._recorder, environ, host=req.host, method=req.method, path=req.path,
            url=_base_url(req), user_agent=environ.get("HTTP_USER_AGENT"),
            client_ip=forwarded or req.remote_addr, forwarded=bool(forwarded),
            lambda_mode=self.in_lambda_ctx)

    def _after_request(self, response: Any) -> Any:
        traced = request.environ.get(_ENVIRON_KEY)
        if traced is not None:
            traced.response(response.status_code, response.headers.get("Content-Length"))
            header = traced.response_header()
            if header:
                response.headers["X-Amzn-Trace-Id"] = header
        return response

    def _teardown_request(self, exception: BaseException | None) -> None:
        traced = request.environ.pop(_ENVIRON_KEY, None)
        if traced is None:
            return
        if exception is not None:
            traced.fault(exception)
        traced.end()


_PLAIN_URL_PART = re.compile(r"^[A-Za-z0-9\-._~/!$&'()*+,;=:@]*$")


def _base_url(req: Any) -> str:
    """``request.base_url`` (the URL without the query string), built directly when the
    path needs no escaping; werkzeug's general IRI conversion costs tens of µs."""
    path = req.script_root + req.path
    host = req.host
    if _PLAIN_URL_PART.match(path) and _PLAIN_URL_PART.match(host):
        return "%s://%s%s" % (req.scheme, host, path)
    return req.base_url  # type: ignore[no-any-return]


def _patch_render(recorder: Any) -> None:
    """Trace ``flask.templating._render`` once, whatever its argument order (it changed in Flask 2.2)."""
    flask.templating._render = trace_render(flask.templating._render, recorder, _template_name)  # type: ignore[attr-defined]


def _template_name(args: tuple, kwargs: dict) -> str | None:
    import jinja2

    for value in list(args) + list(kwargs.values()):
        if isinstance(value, jinja2.Template):
            return value.name
    return None

"""Any WSGI application: ``app = XRayMiddleware(app)`` (new in fluoro; upstream has none).

The segment begins when the server calls the application and ends when the server closes
the response iterable (PEP 3333), so streamed bodies are inside it. ``content_length`` is
the ``Content-Length`` header, or the bytes actually sent when there is none.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import quote

from ._http_entry import TracedRequest, in_lambda

XRAY_HEADER = "X-Amzn-Trace-Id"
_PLAIN_PATH = re.compile(r"^[A-Za-z0-9\-._~/!$&'()*+,;=:@]*$")


def request_url(environ: dict) -> str:
    """The full request URL, query string included (PEP 3333's URL reconstruction)."""
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST")
    if not host:
        host = environ.get("SERVER_NAME", "")
        port = str(environ.get("SERVER_PORT", ""))
        if port and port != ("443" if scheme == "https" else "80"):
            host += ":" + port
    path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    if not _PLAIN_PATH.match(path):
        path = quote(path)
    query = environ.get("QUERY_STRING")
    return "%s://%s%s%s" % (scheme, host, path, "?" + query if query else "")


class XRayMiddleware:
    """Wraps a WSGI application; ``recorder`` defaults to the global ``xray_recorder``."""

    def __init__(self, app: Callable, recorder: Any = None) -> None:
        if recorder is None:
            from ..core import xray_recorder as recorder
        self.app = app
        self.recorder = recorder
        self.in_lambda_ctx = in_lambda(recorder)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        forwarded = environ.get("HTTP_X_FORWARDED_FOR")
        host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME")
        traced = TracedRequest.begin(
            self.recorder, environ, host=host, method=environ.get("REQUEST_METHOD", "GET"),
            path=environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""), url=request_url(environ),
            user_agent=environ.get("HTTP_USER_AGENT"), client_ip=forwarded or environ.get("REMOTE_ADDR"),
            forwarded=bool(forwarded), lambda_mode=self.in_lambda_ctx)
        if traced is None:
            return self.app(environ, start_response)  # type: ignore[no-any-return]
        body = _TracedBody(traced)

        def traced_start_response(status: str, headers: list, exc_info: Any = None) -> Callable:
            body.start(status, headers)
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        try:
            result = self.app(environ, traced_start_response)
        except BaseException as exc:
            traced.fault(exc)
            traced.end()
            raise
        body.result = result
        return body


class _TracedBody:
    """The application's response iterable; ends the segment on ``close()``."""

    def __init__(self, traced: TracedRequest) -> None:
        self.traced = traced
        self.result: Iterable[bytes] = ()
        self.status: int | None = None
        self.length: str | None = None
        self.sent = 0

    def start(self, status: str, headers: list) -> None:
        try:
            self.status = int(status.split(None, 1)[0])
        except (ValueError, IndexError):
            self.status = None
        self.length = None
        for key, value in headers:
            if key.lower() == "content-length":
                self.length = value
        headers[:] = [(k, v) for k, v in headers if k.lower() != "x-amzn-trace-id"]
        header = self.traced.response_header()
        if header:
            headers.append((XRAY_HEADER, header))

    def __iter__(self) -> Iterator[bytes]:
        try:
            for chunk in self.result:
                self.sent += len(chunk)
                yield chunk
        except BaseException as exc:
            self.traced.fault(exc, None if self.status else 500)
            raise

    def close(self) -> None:
        try:
            close = getattr(self.result, "close", None)
            if close is not None:
                close()
        finally:
            self.traced.response(self.status, self.length if self.length is not None else self.sent)
            self.traced.end()

"""Any ASGI application, Starlette and FastAPI first (new in fluoro; upstream issues #270,
#332, #427): ``app.add_middleware(XRayMiddleware)`` or ``XRayMiddleware(app)``.

A plain ASGI middleware (no ``BaseHTTPMiddleware``), so streaming responses pass through
untouched and the whole body is inside the segment. The segment's ``end_time`` is when the
last body chunk was sent; Starlette background tasks, which run after that, are recorded
under the same segment as subsegments named ``background:<function>``, and the segment is
sent once they finish. ``segment_name="route"`` names the segment after the matched route
template (``GET /items/{item_id}``) instead of the service; ``segment_name`` may also be a
function of the ASGI scope (called when the response is complete, so the route is known)
returning the name, or None to keep the service name.
``content_length`` is the ``Content-Length`` header, or the bytes actually sent.
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import quote

from ..core.models.entity import sanitize_name
from ._http_entry import TracedRequest, in_lambda

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

XRAY_HEADER = b"x-amzn-trace-id"
SEGMENT_NAMES = ("service", "route")

# The request being traced in this task (read by the background-task wrapper).
_current: contextvars.ContextVar[TracedRequest | None] = contextvars.ContextVar("fluoro_asgi_request", default=None)


class _Headers(dict):
    """ASGI headers by lower-cased name, with the case-insensitive ``get`` the helpers expect."""

    def __init__(self, raw: list) -> None:
        super().__init__()
        for key, value in raw:
            name = key.decode("latin-1").lower()
            if name not in self:  # the first occurrence wins
                self[name] = value.decode("latin-1")

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(key.lower(), default)


_PLAIN_PATH = re.compile(r"^[A-Za-z0-9\-._~/!$&'()*+,;=:@]*$")


def request_url(scope: Scope, host: str) -> str:
    path = scope.get("root_path", "") + scope.get("path", "")
    if not _PLAIN_PATH.match(path):
        path = quote(path)
    query = scope.get("query_string", b"")
    return "%s://%s%s%s" % (scope.get("scheme", "http"), host, path,
                            "?" + query.decode("latin-1") if query else "")


def route_template(scope: Scope) -> str | None:
    """The matched route's path template (Starlette and FastAPI put the route in the scope)."""
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    if not isinstance(path, str) or not path:
        return None
    return scope.get("root_path", "") + path


class XRayMiddleware:
    """Traces each HTTP request; ``recorder`` defaults to the global ``xray_recorder``."""

    def __init__(self, app: Callable, recorder: Any = None,
                 segment_name: str | Callable[[Scope], str | None] = "service") -> None:
        if not callable(segment_name) and segment_name not in SEGMENT_NAMES:
            raise ValueError("segment_name must be one of %s or a function of the scope, not %r"
                             % (SEGMENT_NAMES, segment_name))
        if recorder is None:
            from ..core import xray_recorder as recorder
        self.app = app
        self.recorder = recorder
        self.segment_name = segment_name
        self.in_lambda_ctx = in_lambda(recorder)
        _patch_background_tasks()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        headers = _Headers(scope.get("headers") or [])
        host = headers.get("host")
        if not host:
            server = scope.get("server")
            host = "%s:%s" % (server[0], server[1]) if server else ""
        forwarded = headers.get("x-forwarded-for")
        client = scope.get("client")
        method = scope.get("method", "GET")
        traced = TracedRequest.begin(
            self.recorder, headers, host=host, naming_host=host.split(":", 1)[0], method=method,
            path=scope.get("path", ""), url=request_url(scope, host), user_agent=headers.get("user-agent"),
            client_ip=forwarded or (client[0] if client else None), forwarded=bool(forwarded),
            lambda_mode=self.in_lambda_ctx)
        if traced is None:
            await self.app(scope, receive, send)
            return
        state = _ResponseState()

        async def traced_send(message: Message) -> None:
            kind = message.get("type")
            if kind == "http.response.start":
                state.status = message.get("status")
                raw = [(k, v) for k, v in message.get("headers", []) if k.lower() != XRAY_HEADER]
                for key, value in raw:
                    if key.lower() == b"content-length":
                        state.length = value.decode("latin-1")
                header = traced.response_header()
                if header:
                    raw.append((XRAY_HEADER, header.encode("latin-1")))
                message["headers"] = raw
            elif kind == "http.response.body":
                state.sent += len(message.get("body", b""))
                if not message.get("more_body", False):
                    state.finished = time.time()
            elif kind == "http.response.pathsend":
                state.finished = time.time()
            await send(message)

        token = _current.set(traced)
        try:
            await self.app(scope, receive, traced_send)
        except BaseException as exc:
            if state.finished is None or (state.status or 0) >= 500:
                # The request itself failed (an outer error handler may already have sent the
                # 500). After a complete non-5xx response it was a background task: recorded there.
                traced.fault(exc, None if state.status else 500)
            raise
        finally:
            _current.reset(token)
            try:
                name = self._name(scope, method)
                if name:
                    traced.entity.name = sanitize_name(name)
                traced.response(state.status, state.length if state.length is not None else state.sent)
            finally:
                traced.end(state.finished)


    def _name(self, scope: Scope, method: str) -> str | None:
        """The segment name chosen once the response is complete; None keeps the service name."""
        strategy = self.segment_name
        try:
            if callable(strategy):
                name = strategy(scope)
                return name if isinstance(name, str) and name else None
            if strategy == "route":
                template = route_template(scope)
                return "%s %s" % (method, template) if template else None
        except Exception:
            log.warning("segment_name function failed; keeping the service name", exc_info=True)
        return None


class _ResponseState:
    __slots__ = ("status", "length", "sent", "finished")

    def __init__(self) -> None:
        self.status: int | None = None
        self.length: str | None = None
        self.sent = 0
        self.finished: float | None = None


_background_patched = False


def _patch_background_tasks() -> None:
    """Wrap Starlette's ``BackgroundTask.__call__`` (once) in a subsegment when a request is traced."""
    global _background_patched
    if _background_patched:
        return
    try:
        from starlette.background import BackgroundTask
    except ImportError:
        return
    original = BackgroundTask.__call__

    async def traced_call(self: Any) -> None:
        traced = _current.get()
        if traced is None or traced.entity is None:
            await original(self)
            return
        name = "background:%s" % getattr(self.func, "__name__", type(self.func).__name__)
        with traced.recorder.in_subsegment(name):
            await original(self)

    traced_call.__wrapped__ = original  # type: ignore[attr-defined]
    BackgroundTask.__call__ = traced_call  # type: ignore[method-assign]
    _background_patched = True

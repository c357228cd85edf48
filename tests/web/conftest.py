"""Fixtures for the framework middlewares: fluoro's global recorder capturing documents, the
same for aws-xray-sdk's (the oracle of the differential tests), document normalization, and
a real HTTP server on a free port for WSGI applications."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from fluoro.core import xray_recorder
from fluoro.core.context import Context
from fluoro.core.emitters.memory import InMemoryEmitter

TRACE_ID = "1-5759e988-bd862e3fe1be46a994272793"
PARENT_ID = "53995c3f42cd8ad8"


class CapturingEmitter:
    """Keeps every emitted document as the daemon would decode it (for either SDK)."""

    def __init__(self) -> None:
        self.documents: list = []

    def send_entity(self, entity: Any) -> None:
        self.documents.append(json.loads(entity.serialize()))

    def set_daemon_address(self, address: Any) -> None:
        pass


def _snapshot(recorder: Any) -> tuple:
    return dict(vars(recorder)), recorder.streaming_threshold


def _restore(recorder: Any, snapshot: tuple) -> None:
    state, threshold = snapshot
    recorder.__dict__.clear()
    recorder.__dict__.update(state)
    recorder.streaming_threshold = threshold


@pytest.fixture
def recorder() -> Iterator[Any]:
    """fluoro's global recorder with sampling off, service ``test``, documents in ``.captured``."""
    saved = _snapshot(xray_recorder)
    emitter = InMemoryEmitter()
    xray_recorder.configure(emitter=emitter, context=Context(), sampling=False, service="test")
    xray_recorder.captured = emitter  # type: ignore[attr-defined]
    yield xray_recorder
    xray_recorder.clear_trace_entities()
    _restore(xray_recorder, saved)


@pytest.fixture
def upstream_recorder() -> Iterator[Any]:
    """aws-xray-sdk's global recorder, configured like :func:`recorder`."""
    import aws_xray_sdk.core as upstream_core
    from aws_xray_sdk.core.context import Context as UpstreamContext

    rec = upstream_core.xray_recorder
    saved = _snapshot(rec)
    rec.configure(emitter=CapturingEmitter(), context=UpstreamContext(), sampling=False, service="test",
                  context_missing="IGNORE_ERROR")
    rec.captured = rec.emitter
    yield rec
    rec.clear_trace_entities()
    _restore(rec, saved)


def normalize(doc: Any, ids: dict | None = None) -> Any:
    """Replace random and environmental values (ids, times, cwd, line numbers, SDK version)."""
    if ids is None:
        ids = {}
    if isinstance(doc, dict):
        out = {}
        for key in sorted(doc):
            value = doc[key]
            if key in ("id", "parent_id", "trace_id") and isinstance(value, str):
                out[key] = ids.setdefault(value, "id#%d" % len(ids))
            elif key in ("start_time", "end_time"):
                assert isinstance(value, float) or value == "<time>"
                out[key] = "<time>"
            elif key == "working_directory":
                out[key] = "<cwd>"
            elif key == "xray" and isinstance(value, dict):
                out[key] = {k: v for k, v in value.items() if k not in ("sdk", "sdk_version")}
            elif key == "cause" and isinstance(value, str):
                out[key] = ids.setdefault(value, "id#%d" % len(ids))
            else:
                out[key] = normalize(value, ids)
        return out
    if isinstance(doc, list):
        return [normalize(v, ids) for v in doc]
    return doc


def pop_stacks(doc: Any, out: list | None = None) -> list:
    """Remove every throwable's ``stack`` (document order) into a list, which is returned."""
    if out is None:
        out = []
    if isinstance(doc, dict):
        if "stack" in doc:
            out.append(doc.pop("stack"))
        for value in doc.values():
            pop_stacks(value, out)
    elif isinstance(doc, list):
        for value in doc:
            pop_stacks(value, out)
    return out


def compare(fluoro_docs: list, upstream_docs: list) -> tuple:
    """Normalized documents of both SDKs, stacks removed; returns (fluoro, upstream, stack pairs
    in document order). Callers check the number of pairs they expect."""
    fl = [normalize(d) for d in fluoro_docs]
    up = [normalize(d) for d in upstream_docs]
    fl_stacks, up_stacks = pop_stacks(fl), pop_stacks(up)
    return fl, up, list(zip(fl_stacks, up_stacks, strict=False))


class WSGIServer:
    """A real wsgiref HTTP server on a free loopback port, served from a thread."""

    def __init__(self, app: Any) -> None:
        from wsgiref.simple_server import WSGIRequestHandler, make_server

        class QuietHandler(WSGIRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

        self.server = make_server("127.0.0.1", 0, app, handler_class=QuietHandler)
        self.url = "http://127.0.0.1:%d" % self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WSGIServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


class WSGIResponse:
    def __init__(self, status: str, headers: list, body: bytes) -> None:
        self.status_code = int(status.split()[0])
        self.headers = {k.lower(): v for k, v in headers}
        self.text = body.decode("utf-8", "replace")

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def call_wsgi(app: Any, path: str, headers: dict | None = None, method: str = "GET",
              remote_addr: str = "10.1.2.3") -> WSGIResponse:
    """Call a WSGI application in-process as a server would (PEP 3333), including ``close()``.

    Unlike werkzeug's test client, an ``exc_info`` passed with a 500 is not re-raised, as a
    real server sends the error response (Bottle does that for unhandled exceptions)."""
    import io
    from urllib.parse import urlsplit
    from wsgiref.util import setup_testing_defaults

    parts = urlsplit(path)
    environ: dict = {"REQUEST_METHOD": method, "PATH_INFO": parts.path, "QUERY_STRING": parts.query,
                     "REMOTE_ADDR": remote_addr, "HTTP_HOST": "localhost", "wsgi.errors": io.StringIO()}
    for key, value in (headers or {}).items():
        environ["HTTP_" + key.upper().replace("-", "_")] = value
    setup_testing_defaults(environ)
    started: dict = {}

    def start_response(status: str, response_headers: list, exc_info: Any = None) -> Any:
        started["status"], started["headers"] = status, response_headers
        return lambda data: None

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return WSGIResponse(started["status"], started["headers"], body)

"""Importing the SDK pulls in no web framework; bad requests never break the application."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from fluoro.ext import _http_entry
from fluoro.ext.asgi import XRayMiddleware as ASGIMiddleware
from fluoro.ext.wsgi import XRayMiddleware as WSGIMiddleware

from .conftest import call_wsgi

FRAMEWORKS = ("django", "flask", "bottle", "aiohttp", "starlette", "fastapi", "werkzeug", "uvicorn")


def test_core_and_generic_middlewares_import_no_framework() -> None:
    code = ("import sys, json, fluoro.core, fluoro.ext.wsgi, fluoro.ext.asgi, fluoro.ext._http_entry, "
            "fluoro.ext.templates\nprint(json.dumps(sorted(m for m in %r if m in sys.modules)))" % (FRAMEWORKS,))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []


def _ok_app(environ: dict, start_response: Any) -> list:
    start_response("200 OK", [("Content-Length", "not-a-number")])
    return [b"ok"]


@pytest.mark.parametrize("header", ["garbage", "Root=;Parent=;Sampled=maybe", "Root=1-2-3;;;", "\u00ff" * 300, ";="])
def test_malformed_trace_header_gets_a_fresh_trace(recorder, header) -> None:  # type: ignore[no-untyped-def]
    response = call_wsgi(WSGIMiddleware(_ok_app, recorder), "/", {"X-Amzn-Trace-Id": header, "Host": ""})
    assert response.status_code == 200 and response.text == "ok"
    (doc,) = recorder.captured.documents
    assert doc["trace_id"].startswith("1-") and len(doc["trace_id"]) == 35
    assert "content_length" not in doc["http"]["response"]  # unreadable header: left out


def test_a_failing_sampler_or_emitter_does_not_break_requests(recorder) -> None:  # type: ignore[no-untyped-def]
    class BrokenSampler:
        def should_trace(self, sampling_req: dict) -> Any:
            raise RuntimeError("sampler down")

    class BrokenEmitter:
        def send_entity(self, entity: Any) -> None:
            raise OSError("no route")

        def set_daemon_address(self, address: Any) -> None:
            pass

    recorder.configure(sampling=True, sampler=BrokenSampler())
    assert call_wsgi(WSGIMiddleware(_ok_app, recorder), "/").status_code == 200
    recorder.configure(sampling=False, emitter=BrokenEmitter())
    assert call_wsgi(WSGIMiddleware(_ok_app, recorder), "/").status_code == 200


async def test_asgi_without_host_header_or_client(recorder) -> None:  # type: ignore[no-untyped-def]
    sent: list = []

    async def app(scope: dict, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def receive() -> dict:
        return {"type": "http.request", "body": b""}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "DELETE", "path": "/x", "headers": [(b"x-amzn-trace-id", b"\xff\xfe")],
             "server": ("10.0.0.5", 8080), "scheme": "http", "query_string": b""}
    await ASGIMiddleware(app, recorder)(scope, receive, send)
    assert sent[0]["status"] == 204
    assert dict(sent[0]["headers"])[b"x-amzn-trace-id"].startswith(b"Root=1-")
    (doc,) = recorder.captured.documents
    assert doc["http"]["request"] == {"url": "http://10.0.0.5:8080/x", "method": "DELETE"}
    assert doc["http"]["response"] == {"status": 204, "content_length": 0}


def test_missing_service_name_is_logged_once(recorder, caplog, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(_http_entry, "_missing_name_logged", False)
    recorder.service = None
    app = WSGIMiddleware(_ok_app, recorder)
    for _ in range(3):
        assert call_wsgi(app, "/").status_code == 200
    assert caplog.text.count("No segment name") == 1
    assert recorder.captured.documents == []


def test_malformed_parent_keeps_the_trace(recorder) -> None:  # type: ignore[no-untyped-def]
    from .conftest import TRACE_ID

    call_wsgi(WSGIMiddleware(_ok_app, recorder), "/", {"X-Amzn-Trace-Id": "Root=%s;Parent=nothex;Sampled=1" % TRACE_ID})
    (doc,) = recorder.captured.documents
    assert doc["trace_id"] == TRACE_ID and "parent_id" not in doc

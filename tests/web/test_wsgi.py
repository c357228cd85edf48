"""The plain WSGI middleware: in-process calls as a server makes them and a real wsgiref server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from fluoro.ext.wsgi import XRayMiddleware, request_url

from .conftest import PARENT_ID, TRACE_ID, WSGIServer, call_wsgi


def make_app(recorder: Any) -> Any:
    def app(environ: dict, start_response: Any) -> Any:
        path = environ["PATH_INFO"]
        if path == "/fail":
            raise KeyError("no route")
        if path == "/stream":
            def body() -> Iterator[bytes]:
                for i in range(3):
                    with recorder.in_subsegment("chunk%d" % i):
                        yield b"x" * (i + 1)
            start_response("200 OK", [("Content-Type", "text/plain")])
            return body()
        if path == "/broken-stream":
            def broken() -> Iterator[bytes]:
                yield b"a"
                raise RuntimeError("mid-stream")
            start_response("200 OK", [("Content-Type", "text/plain")])
            return broken()
        body = b"created"
        start_response("201 Created", [("Content-Type", "text/plain"), ("Content-Length", str(len(body))),
                                        ("X-Amzn-Trace-Id", "stale")])
        return [body]

    return XRayMiddleware(app, recorder)


def test_fields_and_response_header(recorder) -> None:  # type: ignore[no-untyped-def]
    app = make_app(recorder)
    response = call_wsgi(app, "/orders?id=3", {"User-Agent": "ua/1", "X-Amzn-Trace-Id":
                                               "Root=%s;Parent=%s;Sampled=?" % (TRACE_ID, PARENT_ID)}, method="POST")
    assert response.status_code == 201 and response.text == "created"
    assert response.header("X-Amzn-Trace-Id") == "Root=%s;Sampled=1" % TRACE_ID  # the stale one replaced
    (doc,) = recorder.captured.documents
    assert (doc["name"], doc["trace_id"], doc["parent_id"]) == ("test", TRACE_ID, PARENT_ID)
    assert doc["http"] == {"request": {"url": "http://localhost/orders?id=3", "method": "POST", "user_agent": "ua/1",
                                       "client_ip": "10.1.2.3"},
                           "response": {"status": 201, "content_length": 7}}


def test_streamed_body_is_inside_the_segment(recorder) -> None:  # type: ignore[no-untyped-def]
    response = call_wsgi(make_app(recorder), "/stream", {"X-Forwarded-For": "198.51.100.2, 10.0.0.1"})
    assert response.text == "xxxxxx"
    (doc,) = recorder.captured.documents
    assert [s["name"] for s in doc["subsegments"]] == ["chunk0", "chunk1", "chunk2"]
    assert doc["http"]["response"] == {"status": 200, "content_length": 6}  # counted: no header
    assert doc["http"]["request"]["client_ip"] == "198.51.100.2, 10.0.0.1"
    assert doc["http"]["request"]["x_forwarded_for"] is True
    assert all(s["end_time"] <= doc["end_time"] for s in doc["subsegments"])


def test_exceptions_are_faults(recorder) -> None:  # type: ignore[no-untyped-def]
    app = make_app(recorder)
    with pytest.raises(KeyError):
        call_wsgi(app, "/fail")
    with pytest.raises(RuntimeError):
        call_wsgi(app, "/broken-stream")
    failed, broken = recorder.captured.documents
    assert failed["fault"] is True and failed["http"]["response"]["status"] == 500
    (exc,) = failed["cause"]["exceptions"]
    assert exc["type"] == "KeyError" and exc["stack"][-1]["label"] == "app"
    # The status was already sent; the fault and exception are still recorded.
    assert broken["fault"] is True and broken["http"]["response"]["status"] == 200
    assert broken["cause"]["exceptions"][0]["message"] == "mid-stream"


def test_unsampled_request_sends_nothing_but_answers_the_header(recorder) -> None:  # type: ignore[no-untyped-def]
    response = call_wsgi(make_app(recorder), "/x", {"X-Amzn-Trace-Id": "Root=%s;Parent=%s;Sampled=0" % (TRACE_ID, PARENT_ID)})
    assert response.status_code == 201
    assert response.header("X-Amzn-Trace-Id") == "Root=%s" % TRACE_ID
    assert recorder.captured.documents == []


def test_request_url_reconstruction() -> None:
    assert request_url({"wsgi.url_scheme": "https", "SERVER_NAME": "h", "SERVER_PORT": "443",
                        "SCRIPT_NAME": "/app", "PATH_INFO": "/a b"}) == "https://h/app/a%20b"
    assert request_url({"wsgi.url_scheme": "http", "SERVER_NAME": "h", "SERVER_PORT": "8080",
                        "PATH_INFO": "/", "QUERY_STRING": "x=1"}) == "http://h:8080/?x=1"


def test_no_service_name_serves_untraced(recorder) -> None:  # type: ignore[no-untyped-def]
    recorder.service = None
    response = call_wsgi(make_app(recorder), "/x")
    assert response.status_code == 201 and response.header("X-Amzn-Trace-Id") == "stale"  # untouched
    assert recorder.captured.documents == []


def test_over_a_real_server(recorder) -> None:  # type: ignore[no-untyped-def]
    with WSGIServer(make_app(recorder)) as server, httpx.Client() as client:
        ok = client.get(server.url + "/stream", headers={"traceparent": "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01"})
    assert ok.text == "xxxxxx" and ok.headers["X-Amzn-Trace-Id"] == "Root=%s" % TRACE_ID
    (doc,) = recorder.captured.documents
    assert (doc["trace_id"], doc["parent_id"]) == (TRACE_ID, PARENT_ID)
    assert doc["http"]["request"]["url"] == server.url + "/stream"
    assert [s["name"] for s in doc["subsegments"]] == ["chunk0", "chunk1", "chunk2"]

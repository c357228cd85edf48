"""Bottle: the plugin through werkzeug's WSGI test client and a real wsgiref server, and the
same requests through aws-xray-sdk's plugin."""

from __future__ import annotations

from typing import Any

import bottle
import httpx

from fluoro.ext.bottle.middleware import XRayMiddleware

from .conftest import PARENT_ID, TRACE_ID, WSGIServer, call_wsgi, compare


def make_app(middleware: Any, recorder: Any) -> bottle.Bottle:
    app = bottle.Bottle()

    @app.get("/items/<item_id:int>")
    def item(item_id: int) -> Any:
        with recorder.in_subsegment("load_item"):
            pass
        return {"id": item_id}

    @app.get("/fail")
    def fail() -> Any:
        raise ValueError("no stock")

    @app.get("/page")
    def page() -> Any:
        return bottle.template("<p>{{n}}</p>", n=3)

    @app.get("/gone")
    def gone() -> Any:
        bottle.abort(410, "gone")

    saved = bottle.SimpleTemplate.render
    app.install(middleware(recorder))
    if middleware is not XRayMiddleware:
        bottle.SimpleTemplate.render = saved  # upstream's patch fails outside its own segment
    return app


REQUESTS = [
    ("/items/7?q=1", {"User-Agent": "tests/1.0"}),
    ("/items/8", {"X-Amzn-Trace-Id": "Root=%s;Parent=%s;Sampled=1" % (TRACE_ID, PARENT_ID),
                  "X-Forwarded-For": "203.0.113.9"}),
    ("/fail", {}),
    ("/items/9", {"X-Amzn-Trace-Id": "Root=%s;Sampled=?" % TRACE_ID}),
]


def _run(app: Any, requests: list = REQUESTS) -> list:
    return [call_wsgi(app, path, headers) for path, headers in requests]


def test_same_documents_as_upstream(recorder, upstream_recorder) -> None:  # type: ignore[no-untyped-def]
    from aws_xray_sdk.ext.bottle.middleware import XRayMiddleware as UpstreamMiddleware

    up = _run(make_app(UpstreamMiddleware, upstream_recorder))
    fl = _run(make_app(XRayMiddleware, recorder))
    assert [r.status_code for r in fl] == [r.status_code for r in up] == [200, 200, 500, 200]
    assert [r.header("X-Amzn-Trace-Id") is None for r in fl] == [False, False, True, False]
    fluoro_docs, upstream_docs, stacks = compare(recorder.captured.documents, upstream_recorder.captured.documents)
    for doc in upstream_docs:
        # Upstream quirk: x_forwarded_for is set even when client_ip is REMOTE_ADDR.
        if doc["http"]["request"]["client_ip"] == "10.1.2.3":
            assert doc["http"]["request"].pop("x_forwarded_for") is True
    assert fluoro_docs == upstream_docs
    ((fl_stack, up_stack),) = stacks
    assert fl_stack[-1]["label"] == up_stack[-1]["label"] == "fail"


def test_fields_template_and_abort(recorder) -> None:  # type: ignore[no-untyped-def]
    responses = _run(make_app(XRayMiddleware, recorder), REQUESTS + [("/page", {}), ("/gone", {})])
    assert responses[1].header("X-Amzn-Trace-Id") == "Root=%s" % TRACE_ID
    assert responses[3].header("X-Amzn-Trace-Id") == "Root=%s;Sampled=1" % TRACE_ID
    assert responses[5].status_code == 410 and responses[5].header("X-Amzn-Trace-Id")
    ok, forwarded, fail, asked, page, gone = recorder.captured.documents
    assert ok["http"]["request"] == {"url": "http://localhost/items/7?q=1", "method": "GET",
                                     "user_agent": "tests/1.0", "client_ip": "10.1.2.3"}
    assert forwarded["http"]["request"]["x_forwarded_for"] is True
    assert (forwarded["trace_id"], forwarded["parent_id"]) == (TRACE_ID, PARENT_ID)
    assert fail["fault"] is True and fail["cause"]["exceptions"][0]["message"] == "no stock"
    assert [s["name"] for s in page["subsegments"]] == ["template_render"]
    # abort() is the response, not a fault (upstream records it as an exception and a fault).
    assert gone["http"]["response"]["status"] == 410 and gone["error"] is True
    assert "fault" not in gone and "cause" not in gone


def test_server_error_raised_as_http_error_is_a_fault_with_its_exception(recorder) -> None:  # type: ignore[no-untyped-def]
    """A 5xx ``HTTPError`` raised by a route (``abort(503)``) is a fault carrying the
    exception, as upstream records it; a 4xx one stays a plain error response."""
    app = bottle.Bottle()

    @app.get("/down")
    def down() -> Any:
        raise bottle.HTTPError(503, "maintenance")

    @app.get("/missing")
    def missing() -> Any:
        bottle.abort(404, "no such thing")

    app.install(XRayMiddleware(recorder))
    responses = _run(app, [("/down", {}), ("/missing", {})])
    assert [r.status_code for r in responses] == [503, 404]
    down_doc, missing_doc = recorder.captured.documents
    assert down_doc["fault"] is True and down_doc["http"]["response"]["status"] == 503
    (exception,) = down_doc["cause"]["exceptions"]
    assert exception["type"] == "HTTPError"
    assert missing_doc["error"] is True and "fault" not in missing_doc and "cause" not in missing_doc


def test_named_template_file(recorder, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "item.tpl").write_text("<b>{{n}}</b>")
    app = make_app(XRayMiddleware, recorder)

    @app.get("/tpl")
    def tpl() -> Any:
        return bottle.template("item", n=1, template_lookup=[str(tmp_path)])

    assert call_wsgi(app, "/tpl").text == "<b>1</b>"
    (doc,) = recorder.captured.documents
    assert [s["name"] for s in doc["subsegments"]] == [str(tmp_path / "item.tpl")]


def test_over_a_real_server(recorder) -> None:  # type: ignore[no-untyped-def]
    with WSGIServer(make_app(XRayMiddleware, recorder)) as server, httpx.Client() as client:
        ok = client.get(server.url + "/items/5", headers={"X-Amzn-Trace-Id": "Root=%s;Parent=%s" % (TRACE_ID, PARENT_ID)})
        failed = client.get(server.url + "/fail")
    assert ok.status_code == 200 and ok.headers["X-Amzn-Trace-Id"] == "Root=%s" % TRACE_ID
    assert failed.status_code == 500
    first, second = recorder.captured.documents
    assert (first["trace_id"], first["parent_id"]) == (TRACE_ID, PARENT_ID)
    assert first["http"]["request"]["url"] == server.url + "/items/5"
    assert first["http"]["request"]["client_ip"] == "127.0.0.1"
    assert second["fault"] is True

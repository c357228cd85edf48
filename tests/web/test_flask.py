"""Flask: fluoro's middleware through Flask's test client and a real werkzeug server, and
the same requests through aws-xray-sdk's middleware (same documents)."""

from __future__ import annotations

from typing import Any

import flask
import flask.templating
import httpx
import pytest
from werkzeug.serving import make_server

from fluoro.ext.flask.middleware import XRayMiddleware

from .conftest import PARENT_ID, TRACE_ID, compare


def make_app(middleware: Any, recorder: Any) -> flask.Flask:
    app = flask.Flask("shop")

    @app.route("/items/<int:item_id>")
    def item(item_id: int) -> Any:
        with recorder.in_subsegment("load_item") as sub:
            sub.put_annotation("item_id", item_id)
        return {"id": item_id}

    @app.route("/fail")
    def fail() -> Any:
        raise ValueError("no stock")

    @app.route("/missing")
    def missing() -> Any:
        flask.abort(404)

    @app.route("/page")
    def page() -> Any:
        return flask.render_template_string("<p>{{ n }}</p>", n=3)

    @app.route("/stream")
    def stream() -> Any:
        return flask.Response((c for c in (b"a", b"bc")), mimetype="text/plain")

    saved = flask.templating._render
    middleware(app, recorder)
    if middleware is not XRayMiddleware:
        # Upstream's template patch names subsegments after the app on Flask >= 2.2 and
        # fails outside its own segment; keep it out of the fluoro requests.
        flask.templating._render = saved
    return app


REQUESTS = [
    ("/items/7?q=1", {"User-Agent": "tests/1.0"}),
    ("/items/8", {"X-Amzn-Trace-Id": "Root=%s;Parent=%s;Sampled=1" % (TRACE_ID, PARENT_ID),
                  "X-Forwarded-For": "203.0.113.9"}),
    ("/fail", {}),
    ("/missing", {}),
    ("/items/9", {"X-Amzn-Trace-Id": "Root=%s;Sampled=?" % TRACE_ID}),
    ("/items/10", {"X-Amzn-Trace-Id": "Root=%s;Parent=%s;Sampled=0" % (TRACE_ID, PARENT_ID)}),
]


def _run(app: flask.Flask) -> list:
    client = app.test_client()
    return [(r.status_code, r.headers.get("X-Amzn-Trace-Id")) for r in
            (client.get(path, headers=headers, environ_base={"REMOTE_ADDR": "10.1.2.3"})
             for path, headers in REQUESTS)]


def test_same_documents_as_upstream(recorder, upstream_recorder) -> None:  # type: ignore[no-untyped-def]
    from aws_xray_sdk.ext.flask.middleware import XRayMiddleware as UpstreamMiddleware

    up_responses = _run(make_app(UpstreamMiddleware, upstream_recorder))
    fl_responses = _run(make_app(XRayMiddleware, recorder))
    assert [s for s, _ in fl_responses] == [s for s, _ in up_responses] == [200, 200, 500, 404, 200, 200]
    assert len(recorder.captured.documents) == 5  # the Sampled=0 request sends nothing
    fluoro_docs, upstream_docs, stacks = compare(recorder.captured.documents, upstream_recorder.captured.documents)
    assert fluoro_docs == upstream_docs
    ((fl_stack, up_stack),) = stacks
    # Deliberate: upstream reads the stack in teardown_request, after the exception was
    # handled, so it holds Flask's teardown frames; fluoro records where it was raised.
    assert fl_stack[-1]["label"] == "fail" and fl_stack[-1]["path"].endswith("test_flask.py")
    assert not any(frame["label"] == "fail" for frame in up_stack)
    # The response headers match too (same trace ids, the decision echoed only for '?').
    for (_, fl), (_, up) in zip(fl_responses, up_responses, strict=True):
        assert (fl is None) == (up is None)
    assert fl_responses[1][1] == "Root=%s" % TRACE_ID
    assert fl_responses[4][1] == "Root=%s;Sampled=1" % TRACE_ID


def test_request_and_response_fields(recorder) -> None:  # type: ignore[no-untyped-def]
    app = make_app(XRayMiddleware, recorder)
    _run(app)
    ok, forwarded, fail, missing, asked = recorder.captured.documents
    assert ok["name"] == "test"
    assert ok["http"] == {"request": {"url": "http://localhost/items/7", "method": "GET",
                                      "user_agent": "tests/1.0", "client_ip": "10.1.2.3"},
                          "response": {"status": 200, "content_length": len(b'{"id":7}\n')}}
    assert [s["name"] for s in ok["subsegments"]] == ["load_item"]
    assert ok["subsegments"][0]["annotations"] == {"item_id": 7}
    assert (forwarded["trace_id"], forwarded["parent_id"]) == (TRACE_ID, PARENT_ID)
    assert forwarded["http"]["request"]["client_ip"] == "203.0.113.9"
    assert forwarded["http"]["request"]["x_forwarded_for"] is True
    assert fail["fault"] is True and fail["http"]["response"]["status"] == 500
    (exc,) = fail["cause"]["exceptions"]
    assert (exc["type"], exc["message"]) == ("ValueError", "no stock")
    assert missing["error"] is True and "fault" not in missing
    assert asked["trace_id"] == TRACE_ID and "parent_id" not in asked


def test_template_subsegment_named_after_the_template(recorder) -> None:  # type: ignore[no-untyped-def]
    app = make_app(XRayMiddleware, recorder)
    app.jinja_loader = __import__("jinja2").DictLoader({"item.html": "<b>{{ n }}</b>"})

    @app.route("/tpl")
    def tpl() -> Any:
        return flask.render_template("item.html", n=1)

    client = app.test_client()
    assert client.get("/tpl").data == b"<b>1</b>"
    assert client.get("/page").data == b"<p>3</p>"
    named, unnamed = recorder.captured.documents
    assert [s["name"] for s in named["subsegments"]] == ["item.html"]
    assert [s["name"] for s in unnamed["subsegments"]] == ["template_render"]
    # Rendering outside a request records nothing and does not fail.
    with app.app_context():
        assert flask.render_template("item.html", n=2) == "<b>2</b>"
    assert len(recorder.captured.documents) == 2


def test_dynamic_naming(recorder) -> None:  # type: ignore[no-untyped-def]
    recorder.configure(dynamic_naming="*.example.com")
    client = make_app(XRayMiddleware, recorder).test_client()
    client.get("/items/1", headers={"Host": "api.example.com"})
    client.get("/items/1", headers={"Host": "other.org"})
    assert [d["name"] for d in recorder.captured.documents] == ["api.example.com", "test"]


def test_sampler_gets_host_method_path(recorder) -> None:  # type: ignore[no-untyped-def]
    seen = []

    class Sampler:
        def should_trace(self, sampling_req: dict) -> Any:
            seen.append(sampling_req)
            return "by-rule" if sampling_req["path"].startswith("/items") else False

    recorder.configure(sampling=True, sampler=Sampler())
    client = make_app(XRayMiddleware, recorder).test_client()
    client.post("/items/3", headers={"Host": "shop.local:8080"})
    client.get("/fail")
    assert seen == [{"host": "shop.local:8080", "method": "POST", "path": "/items/3", "service": "test"},
                    {"host": "localhost", "method": "GET", "path": "/fail", "service": "test"}]
    (doc,) = recorder.captured.documents  # /fail was not sampled
    assert doc["aws"]["xray"]["sampling_rule_name"] == "by-rule"
    assert doc["http"]["response"]["status"] == 405


def test_over_a_real_server(recorder) -> None:  # type: ignore[no-untyped-def]
    import threading

    app = make_app(XRayMiddleware, recorder)
    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = "http://127.0.0.1:%d" % server.server_port
        with httpx.Client() as client:
            ok = client.get(url + "/items/5", headers={"traceparent": "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01"})
            streamed = client.get(url + "/stream")
            failed = client.get(url + "/fail")
    finally:
        server.shutdown()
        thread.join(5)
    assert ok.status_code == 200 and ok.headers["X-Amzn-Trace-Id"] == "Root=%s" % TRACE_ID
    assert streamed.text == "abc" and failed.status_code == 500
    docs = recorder.captured.documents
    assert [d["http"]["response"]["status"] for d in docs] == [200, 200, 500]
    assert (docs[0]["trace_id"], docs[0]["parent_id"]) == (TRACE_ID, PARENT_ID)
    assert docs[0]["http"]["request"]["client_ip"] == "127.0.0.1"
    assert docs[0]["http"]["request"]["url"] == url + "/items/5"


@pytest.fixture
def lambda_env(monkeypatch, tmp_path, recorder):  # type: ignore[no-untyped-def]
    from fluoro.core.lambda_launcher import LambdaContext

    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(tmp_path))
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=%s;Parent=%s;Sampled=1" % (TRACE_ID, PARENT_ID))
    recorder.configure(context=LambdaContext(), streaming_threshold=0)
    return recorder


def test_lambda_mode_records_a_subsegment(lambda_env) -> None:  # type: ignore[no-untyped-def]
    client = make_app(XRayMiddleware, lambda_env).test_client()
    response = client.get("/items/4", headers={"X-Amzn-Trace-Id": "Root=1-00000000-000000000000000000000001"})
    assert response.status_code == 200
    docs = lambda_env.captured.documents
    assert [d["name"] for d in docs] == ["load_item", "test"]
    sub = docs[-1]
    assert sub["type"] == "subsegment" and sub["trace_id"] == TRACE_ID and sub["parent_id"] == PARENT_ID
    assert sub["http"]["request"]["url"] == "http://localhost/items/4"
    assert sub["http"]["response"]["status"] == 200


def test_dynamic_naming_same_as_upstream(recorder, upstream_recorder) -> None:  # type: ignore[no-untyped-def]
    from aws_xray_sdk.ext.flask.middleware import XRayMiddleware as UpstreamMiddleware

    hosts = ["api.example.com", "api.example.com:8080", "other.org", "example.com"]
    names = {}
    for sdk, middleware, rec in (("upstream", UpstreamMiddleware, upstream_recorder), ("fluoro", XRayMiddleware, recorder)):
        rec.configure(dynamic_naming="*.example.com*")
        client = make_app(middleware, rec).test_client()
        for host in hosts:
            client.get("/items/1", headers={"Host": host})
        names[sdk] = [d["name"] for d in rec.captured.documents]
    assert names["fluoro"] == names["upstream"] == ["api.example.com", "api.example.com:8080", "test", "test"]


def test_tracing_name_environment_variable_wins(recorder, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AWS_XRAY_TRACING_NAME", "from-env")
    recorder.configure(service="configured")
    make_app(XRayMiddleware, recorder).test_client().get("/items/1")
    assert recorder.captured.documents[0]["name"] == "from-env"


@pytest.mark.parametrize("path", ["/items/7", "/a/b;c=d/e@f:g", "/sp ace", "/caf\u00e9", "/q%3Fx", "/~user/x.y-z_"])
def test_fast_base_url_equals_werkzeugs(path) -> None:  # type: ignore[no-untyped-def]
    from werkzeug.test import EnvironBuilder

    from fluoro.ext.flask.middleware import _base_url

    for base in ("http://localhost", "https://shop.example:8443/root"):
        request = flask.Request(EnvironBuilder(path=path, base_url=base).get_environ())
        assert _base_url(request) == request.base_url

"""Django: a real settings module (tests/web/django_project), SQLite databases, the test
client and a real wsgiref server; the same requests through aws-xray-sdk's middleware."""

from __future__ import annotations

import logging
import os

import httpx
import pytest

from fluoro.core import xray_recorder

from .conftest import PARENT_ID, TRACE_ID, WSGIServer, _restore, _snapshot, compare, normalize

os.environ["DJANGO_SETTINGS_MODULE"] = "tests.web.django_project.settings"

import django  # noqa: E402

_saved = _snapshot(xray_recorder)
django.setup()  # runs XRayConfig.ready(): configures the global recorder, patches the DB and templates
CONFIGURED = {"service": xray_recorder.service, "sampling": xray_recorder.sampling}
_restore(xray_recorder, _saved)

from django.core.management import call_command  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.db import connections  # noqa: E402
from django.test import Client, override_settings  # noqa: E402

from fluoro.ext.django import conf  # noqa: E402
from fluoro.ext.django.apps import XRayConfig  # noqa: E402
from tests.web.django_project.shop.models import Item  # noqa: E402

call_command("migrate", run_syncdb=True, verbosity=0)
call_command("migrate", run_syncdb=True, database="reporting", verbosity=0)
if not Item.objects.filter(name="pen").exists():
    Item.objects.create(name="pen")
PEN_ID = Item.objects.get(name="pen").id


def _walk(doc: dict) -> list:
    out = []
    for sub in doc.get("subsegments", []):
        out.append(sub)
        out.extend(_walk(sub))
    return out


def test_app_configures_the_recorder_and_patches() -> None:
    from django.db.backends.sqlite3.base import DatabaseWrapper
    from django.template import Template

    assert CONFIGURED == {"service": "django-shop", "sampling": False}
    assert "_fluoro_original_cursor" in DatabaseWrapper.__dict__
    assert "_fluoro_original_chunked_cursor" in DatabaseWrapper.__dict__
    assert hasattr(Template.render, "_fluoro_traced_render")


def test_request_db_and_templates(recorder) -> None:  # type: ignore[no-untyped-def]
    response = Client().get("/items/%d/?q=1" % PEN_ID, HTTP_USER_AGENT="tests/1.0",
                            HTTP_X_AMZN_TRACE_ID="Root=%s;Parent=%s;Sampled=1" % (TRACE_ID, PARENT_ID))
    assert response.status_code == 200 and b"pen" in response.content
    assert response["X-Amzn-Trace-Id"] == "Root=%s" % TRACE_ID
    (doc,) = recorder.captured.documents
    assert (doc["name"], doc["trace_id"], doc["parent_id"]) == ("test", TRACE_ID, PARENT_ID)
    assert doc["http"]["request"] == {"url": "http://testserver/items/%d/?q=1" % PEN_ID, "method": "GET",
                                      "user_agent": "tests/1.0", "client_ip": "127.0.0.1"}
    assert doc["http"]["response"] == {"status": 200, "content_length": len(response.content)}
    query, page = doc["subsegments"]
    assert (query["name"], query["namespace"]) == ("execute", "remote")
    assert query["sql"]["database_type"] == "sqlite"
    assert query["sql"]["sanitized_query"].startswith("SELECT") and "%s" in query["sql"]["sanitized_query"]
    assert "user" not in query["sql"]
    assert page["name"] == "shop/item.html"
    assert [s["name"] for s in page["subsegments"]] == ["shop/footer.html"]  # {% include %}


def test_raw_cursor_executemany_and_per_connection_names(recorder) -> None:  # type: ignore[no-untyped-def]
    assert Client().get("/raw/").json() == {"count": 1}
    assert Client().get("/report/").content == b"ok"
    raw, report = recorder.captured.documents
    assert [(s["name"], s["sql"]["sanitized_query"]) for s in raw["subsegments"]] == [
        ("execute", "SELECT COUNT(*) FROM shop_item WHERE name = %s"), ("executemany", "UPDATE shop_item SET name = name WHERE id = %s")]
    reporting, default = report["subsegments"]
    assert reporting["name"] == "reporting.internal" and reporting["sql"]["user"] == "report"
    # Read per connection: the default database keeps its own (unnamed) metadata.
    assert default["name"] == "execute" and "user" not in default["sql"]


def test_streamed_response_is_inside_the_segment(recorder) -> None:  # type: ignore[no-untyped-def]
    response = Client().get("/export/")
    assert recorder.captured.documents == []  # not sent before the body is streamed
    assert b"".join(response.streaming_content) == b"pen\ncount=1\n"
    response.close()
    (doc,) = recorder.captured.documents
    assert [s["name"] for s in doc["subsegments"]] == ["execute", "execute"]
    assert all(s["end_time"] <= doc["end_time"] for s in doc["subsegments"])
    assert doc["http"]["response"] == {"status": 200}
    with WSGIServer(get_wsgi_application()) as server, httpx.Client() as client:
        assert client.get(server.url + "/export/").text == "pen\ncount=1\n"
    assert [s["name"] for s in recorder.captured.documents[1]["subsegments"]] == ["execute", "execute"]


def test_stream_sql_off(recorder) -> None:  # type: ignore[no-untyped-def]
    recorder.stream_sql = False
    try:
        Client().get("/raw/")
    finally:
        recorder.stream_sql = True
    (doc,) = recorder.captured.documents
    assert doc["subsegments"][0]["sql"] == {"database_type": "sqlite"}


def test_exceptions_and_not_found(recorder) -> None:  # type: ignore[no-untyped-def]
    client = Client(raise_request_exception=False)
    assert client.get("/fail/").status_code == 500
    assert client.get("/missing/").status_code == 404
    failed, missing = recorder.captured.documents
    assert failed["fault"] is True and failed["http"]["response"]["status"] == 500
    (exc,) = failed["cause"]["exceptions"]
    assert (exc["type"], exc["message"]) == ("ValueError", "no stock")
    assert exc["stack"][-1]["label"] == "fail" and exc["stack"][-1]["path"] == "views.py"
    assert missing["error"] is True and "fault" not in missing and "cause" not in missing


def test_forwarded_for_and_urls_as_annotation(recorder) -> None:  # type: ignore[no-untyped-def]
    with override_settings(XRAY_RECORDER={"AWS_XRAY_TRACING_NAME": "django-shop", "URLS_AS_ANNOTATION": "ALL"}):
        Client().get("/raw/", HTTP_X_FORWARDED_FOR="203.0.113.9")
    with override_settings(XRAY_RECORDER={"AWS_XRAY_TRACING_NAME": "django-shop", "URLS_AS_ANNOTATION": "NONE"}):
        Client().get("/raw/")
    annotated, plain = recorder.captured.documents
    assert annotated["http"]["request"]["client_ip"] == "203.0.113.9"
    assert annotated["http"]["request"]["x_forwarded_for"] is True
    assert annotated["annotations"] == {"url": "http://testserver/raw/", "method": "GET", "client_ip": "203.0.113.9",
                                        "x_forwarded_for": True, "status": 200,
                                        "content_length": annotated["http"]["response"]["content_length"]}
    assert "annotations" not in plain


def test_queries_outside_a_request_are_not_traced(recorder, caplog) -> None:  # type: ignore[no-untyped-def]
    with caplog.at_level(logging.WARNING):
        assert Item.objects.filter(name="pen").count() == 1
    assert recorder.captured.documents == []
    assert not [r for r in caplog.records if r.name.startswith("fluoro")]


def test_settings_precedence(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    settings = conf.XRaySettings({"AWS_XRAY_TRACING_NAME": "from-settings", "SAMPLING": False})
    assert settings.AWS_XRAY_TRACING_NAME == "from-settings"
    assert settings.SAMPLING is False and settings.STREAM_SQL is True and settings.URLS_AS_ANNOTATION == "LAMBDA"
    monkeypatch.setenv("AWS_XRAY_TRACING_NAME", "from-env")
    monkeypatch.setenv("AWS_XRAY_DAEMON_ADDRESS", "127.0.0.1:3000")
    assert settings.AWS_XRAY_TRACING_NAME == "from-env"
    assert settings.AWS_XRAY_DAEMON_ADDRESS == "127.0.0.1:3000"
    assert set(conf.DEFAULTS) == {
        "AWS_XRAY_DAEMON_ADDRESS", "AUTO_INSTRUMENT", "AWS_XRAY_CONTEXT_MISSING", "PLUGINS", "SAMPLING",
        "SAMPLING_RULES", "SAMPLER", "AWS_XRAY_TRACING_NAME", "DYNAMIC_NAMING", "STREAMING_THRESHOLD",
        "MAX_TRACE_BACK", "STREAM_SQL", "PATCH_MODULES", "AUTO_PATCH_PARENT_SEGMENT_NAME",
        "IGNORE_MODULE_PATTERNS", "URLS_AS_ANNOTATION"}
    with pytest.raises(AttributeError, match="Invalid setting"):
        settings.NOT_A_KEY  # noqa: B018


def test_ready_requires_a_name_and_applies_settings(recorder, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from django.apps import apps

    from fluoro.core.exceptions.exceptions import SegmentNameMissingException

    monkeypatch.delenv("AWS_XRAY_TRACING_NAME", raising=False)
    config = apps.get_app_config("django")
    assert isinstance(config, XRayConfig)
    with override_settings(XRAY_RECORDER={"SAMPLING": False}), pytest.raises(SegmentNameMissingException):
        config.ready()
    emitter = recorder.emitter
    with override_settings(XRAY_RECORDER={"AWS_XRAY_TRACING_NAME": "renamed", "SAMPLING": False,
                                          "MAX_TRACE_BACK": 3, "DYNAMIC_NAMING": "*.shop.test",
                                          "PATCH_MODULES": ["botocore"], "AUTO_PATCH_PARENT_SEGMENT_NAME": "patching"}):
        config.ready()
        config.ready()  # idempotent
    assert recorder.service == "renamed" and recorder.max_trace_back == 3
    assert [d["name"] for d in emitter.documents] == ["patching", "patching"]
    Client().get("/raw/", HTTP_HOST="eu.shop.test")
    Client().get("/raw/")
    assert [d["name"] for d in emitter.documents[2:]] == ["eu.shop.test", "renamed"]


def test_unsampled_request(recorder) -> None:  # type: ignore[no-untyped-def]
    response = Client().get("/raw/", HTTP_X_AMZN_TRACE_ID="Root=%s;Parent=%s;Sampled=0" % (TRACE_ID, PARENT_ID))
    assert response["X-Amzn-Trace-Id"] == "Root=%s" % TRACE_ID
    assert recorder.captured.documents == []


def test_lambda_mode(recorder, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from fluoro.core.lambda_launcher import LambdaContext

    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(tmp_path))
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=%s;Parent=%s;Sampled=1" % (TRACE_ID, PARENT_ID))
    recorder.configure(context=LambdaContext(), streaming_threshold=0)
    Client().get("/raw/")
    docs = recorder.captured.documents
    assert [d["name"] for d in docs] == ["execute", "executemany", "test"]
    request = docs[-1]
    assert request["type"] == "subsegment" and request["parent_id"] == PARENT_ID
    # URLS_AS_ANNOTATION defaults to LAMBDA: the fields are searchable annotations there.
    assert request["annotations"]["url"] == "http://testserver/raw/" and request["annotations"]["status"] == 200


def test_over_a_real_server(recorder) -> None:  # type: ignore[no-untyped-def]
    with WSGIServer(get_wsgi_application()) as server, httpx.Client() as client:
        ok = client.get(server.url + "/items/%d/" % PEN_ID, headers={
            "traceparent": "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01"})
        failed = client.get(server.url + "/fail/")
    assert ok.status_code == 200 and ok.headers["X-Amzn-Trace-Id"] == "Root=%s" % TRACE_ID
    assert failed.status_code == 500
    doc, fail = recorder.captured.documents
    assert (doc["trace_id"], doc["parent_id"]) == (TRACE_ID, PARENT_ID)
    assert doc["http"]["request"]["url"] == server.url + "/items/%d/" % PEN_ID
    assert [s["name"] for s in doc["subsegments"]] == ["execute", "shop/item.html"]
    assert fail["fault"] is True


@pytest.fixture
def upstream_patched(upstream_recorder):  # type: ignore[no-untyped-def]
    """aws-xray-sdk's DB and template patches on top of fluoro's, removed afterwards."""
    from aws_xray_sdk.ext.django.db import patch_db
    from aws_xray_sdk.ext.django.templates import patch_template
    from django.template import Template

    patch_db()
    patch_template()
    yield upstream_recorder
    for conn in connections.all():
        cls = type(conn)
        for name in ("cursor", "chunked_cursor"):
            original = cls.__dict__.get("_xray_original_%s" % name)
            if original is not None:
                setattr(cls, name, original)
                delattr(cls, "_xray_original_%s" % name)
    Template.render = Template._xray_original_render
    del Template._xray_original_render


REQUESTS = [
    ("/items/%d/?q=1" % PEN_ID, {"HTTP_USER_AGENT": "tests/1.0"}),
    ("/raw/", {"HTTP_X_AMZN_TRACE_ID": "Root=%s;Parent=%s;Sampled=1" % (TRACE_ID, PARENT_ID),
               "HTTP_X_FORWARDED_FOR": "203.0.113.9"}),
    ("/fail/", {}),
    ("/missing/", {}),
    ("/raw/", {"HTTP_X_AMZN_TRACE_ID": "Root=%s;Sampled=?" % TRACE_ID}),
]


def _run() -> list:
    client = Client(raise_request_exception=False)
    return [(r.status_code, r.get("X-Amzn-Trace-Id")) for r in (client.get(p, **h) for p, h in REQUESTS)]


def test_same_documents_as_upstream(recorder, upstream_patched) -> None:  # type: ignore[no-untyped-def]
    with override_settings(MIDDLEWARE=["aws_xray_sdk.ext.django.middleware.XRayMiddleware",
                                       "django.middleware.common.CommonMiddleware"]):
        up = _run()
    fl = _run()
    assert [s for s, _ in fl] == [s for s, _ in up] == [200, 200, 500, 404, 200]
    assert [h.split("=")[0] for _, h in fl] == [h.split("=")[0] for _, h in up]
    assert fl[1] == up[1] == (200, "Root=%s" % TRACE_ID) and fl[4] == up[4] == (200, "Root=%s;Sampled=1" % TRACE_ID)
    fluoro_docs, upstream_docs, stacks = compare(recorder.captured.documents, upstream_patched.captured.documents)
    assert len(fluoro_docs) == 5
    # Deliberate: Http404 is a 404 (error), not a fault with the exception as upstream records it.
    up_missing = upstream_docs[3]
    assert up_missing.pop("fault") is True and up_missing.pop("cause")["exceptions"][0]["type"] == "Http404"
    upstream_docs[3], fluoro_docs[3] = normalize(up_missing), normalize(fluoro_docs[3])  # renumber the ids
    stacks = stacks[:1]
    assert fluoro_docs == upstream_docs
    ((fl_stack, up_stack),) = stacks
    assert fl_stack[-1]["label"] == up_stack[-1]["label"] == "fail"

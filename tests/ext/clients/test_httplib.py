"""http.client / urllib through the patcher against a real local HTTP server.

Upstream records three subsegments per call (send, getresponse, read); fluoro records
one with the same name, namespace and ``http`` fields as upstream's getresponse.
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request

import pytest

from fluoro.core import patch
from fluoro.ext import httplib as fluoro_httplib
from fluoro.ext import httplib as httplib_patch

from ..oracle import run_both, upstream_patched
from .conftest import closed_port_url


@pytest.fixture(autouse=True, scope="module")
def _patched():  # type: ignore[no-untyped-def]
    """Patched for this module only: other tests see the libraries as they are."""
    patch(("httplib",))
    yield
    httplib_patch.unpatch()
UPSTREAM_TARGETS = [("http.client", "HTTPConnection._send_request"), ("http.client", "HTTPConnection.getresponse"),
                    ("http.client", "HTTPResponse.read")]


def _scenario(base: str):  # type: ignore[no-untyped-def]
    def scenario(rec) -> None:  # type: ignore[no-untyped-def]
        with rec.in_segment("app"):
            with rec.in_subsegment("handler"):
                urllib.request.urlopen(base + "/status/200?q=1").read()
                try:
                    urllib.request.urlopen(base + "/status/500")
                except urllib.error.HTTPError:
                    pass
    return scenario


def test_one_subsegment_where_upstream_has_three(recorders, http_server) -> None:  # type: ignore[no-untyped-def]
    with upstream_patched("httplib", UPSTREAM_TARGETS, flags=[("http.client", "__xray_patched")]):
        result = run_both(recorders, _scenario(http_server.base_url))
    upstream_calls = result["upstream"][0]["subsegments"][0]["subsegments"]
    fluoro_calls = result["fluoro"][0]["subsegments"][0]["subsegments"]
    assert len(upstream_calls) == 5  # send, getresponse, read; send, getresponse
    assert len(fluoro_calls) == 2
    # Each fluoro subsegment is upstream's getresponse subsegment for the same call.
    getresponses = [s for s in upstream_calls if "response" in s.get("http", {}) and
                    s["http"]["request"]["method"] != "READ"]
    assert fluoro_calls == getresponses
    ok, failed = fluoro_calls
    assert ok["name"] == "127.0.0.1" and ok["namespace"] == "remote"
    assert ok["http"] == {"request": {"method": "GET", "url": "http://127.0.0.1/status/200"},
                          "response": {"status": 200}}
    assert failed["fault"] is True


def test_header_sent_under_a_bare_segment(recorder, http_server) -> None:  # type: ignore[no-untyped-def]
    # Upstream only sends the header when a subsegment is current.
    segment = recorder.begin_segment("app")
    urllib.request.urlopen(http_server.base_url + "/status/200").read()
    recorder.end_segment()
    sub = recorder.captured.documents[0]["subsegments"][0]
    assert http_server.requests[-1][2]["X-Amzn-Trace-Id"] == "Root=%s;Parent=%s;Sampled=1" % (
        segment.trace_id, sub["id"])


def test_nothing_nests_between_request_and_getresponse(recorder, http_server) -> None:  # type: ignore[no-untyped-def]
    host, port = http_server.server_address
    conn = http.client.HTTPConnection(host, port)
    mine = {"Accept": "text/plain"}
    with recorder.in_segment("app"):
        conn.request("GET", "/status/201", headers=mine)
        assert mine == {"Accept": "text/plain"}, "the caller's headers dict is not modified"
        with recorder.in_subsegment("in_between"):
            pass
        assert conn.getresponse().status == 201
    assert "X-Amzn-Trace-Id" in http_server.requests[-1][2]
    names = [s["name"] for s in recorder.captured.documents[0]["subsegments"]]
    assert names == ["in_between", "127.0.0.1"]
    call = recorder.captured.documents[0]["subsegments"][1]
    assert call["start_time"] <= recorder.captured.documents[0]["subsegments"][0]["start_time"]


def test_connection_refused_is_a_fault(recorder) -> None:  # type: ignore[no-untyped-def]
    with recorder.in_segment("app"):
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(closed_port_url(), timeout=2)
    (sub,) = recorder.captured.documents[0]["subsegments"]
    assert sub["fault"] is True and sub["cause"]["exceptions"][0]["type"] == "ConnectionRefusedError"


def test_ignored_hostnames(recorder, http_server) -> None:  # type: ignore[no-untyped-def]
    fluoro_httplib.add_ignored(hostname="127.0.0.*")
    try:
        with recorder.in_segment("app"):
            urllib.request.urlopen(http_server.base_url + "/status/200").read()
    finally:
        fluoro_httplib.reset_ignored()
    assert "subsegments" not in recorder.captured.documents[0]
    assert "X-Amzn-Trace-Id" not in http_server.requests[-1][2]


def test_unpatch_and_repatch(recorder, http_server) -> None:  # type: ignore[no-untyped-def]
    fluoro_httplib.unpatch()
    try:
        with recorder.in_segment("app"):
            urllib.request.urlopen(http_server.base_url + "/status/200").read()
        assert "subsegments" not in recorder.captured.documents[0]
    finally:
        patch(("httplib",))

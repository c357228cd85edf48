"""requests through the patcher against a real local HTTP server; upstream as the oracle."""

from __future__ import annotations

import pytest
import requests

from fluoro.core import patch
from fluoro.ext import requests as requests_patch

from ..oracle import assert_same, run_both, upstream_patched
from .conftest import closed_port_url


@pytest.fixture(autouse=True, scope="module")
def _patched():  # type: ignore[no-untyped-def]
    """Patched for this module only: other tests see the libraries as they are."""
    patch(("requests",))
    yield
    requests_patch.unpatch()
UPSTREAM_TARGETS = [("requests", "Session.request"), ("requests", "Session.prepare_request")]


def test_same_subsegments_as_upstream(recorders, http_server) -> None:  # type: ignore[no-untyped-def]
    base = http_server.base_url
    refused = closed_port_url()

    def scenario(rec) -> None:  # type: ignore[no-untyped-def]
        with rec.in_segment("app"):
            requests.get(base + "/status/200?token=secret")
            requests.post(base + "/status/404", data=b"x")
            requests.request("PUT", base + "/status/503")
            try:
                requests.get(refused, timeout=2)
            except requests.ConnectionError:
                pass

    with upstream_patched("requests", UPSTREAM_TARGETS):
        result = run_both(recorders, scenario)
    assert_same(result)
    ok, not_found, unavailable, refused_sub = result["fluoro"][0]["subsegments"]
    assert ok["name"] == "127.0.0.1" and ok["namespace"] == "remote"
    assert ok["http"] == {"request": {"method": "get", "url": base + "/status/200"}, "response": {"status": 200}}
    assert not_found["error"] is True and not_found["http"]["response"]["status"] == 404
    assert unavailable["fault"] is True and unavailable["http"]["request"]["method"] == "PUT"
    assert refused_sub["fault"] is True and refused_sub["exceptions"][0][0] == "ConnectionError"


def test_trace_header_names_the_call_subsegment(recorder, http_server) -> None:  # type: ignore[no-untyped-def]
    segment = recorder.begin_segment("app")
    mine = {"Accept": "text/plain"}
    requests.get(http_server.base_url + "/status/200", headers=mine)
    recorder.end_segment()
    assert mine == {"Accept": "text/plain"}, "the caller's headers dict is not modified"
    sub = recorder.captured.documents[0]["subsegments"][0]
    headers = http_server.requests[-1][2]
    assert headers["X-Amzn-Trace-Id"] == "Root=%s;Parent=%s;Sampled=1" % (segment.trace_id, sub["id"])
    assert headers["Accept"] == "text/plain"


def test_no_segment_untraced_and_no_header(recorder, http_server) -> None:  # type: ignore[no-untyped-def]
    recorder.configure(context_missing="LOG_ERROR")
    assert requests.get(http_server.base_url + "/status/200").status_code == 200
    assert "X-Amzn-Trace-Id" not in http_server.requests[-1][2]
    assert recorder.captured.documents == []

"""fluoro.ext.util: trace headers in and out, naming and URL helpers."""

from __future__ import annotations

import pytest

from fluoro.core import xray_recorder
from fluoro.core.models.dummy_entities import DummySegment
from fluoro.core.models.segment import Segment
from fluoro.core.models.subsegment import Subsegment
from fluoro.core.models.trace_header import TraceHeader
from fluoro.ext import util

ROOT = "1-5759e988-bd862e3fe1be46a994272793"


def test_construct_header_prefers_xray_then_wsgi_then_w3c() -> None:
    assert util.construct_xray_header({"X-Amzn-Trace-Id": "Root=%s;Sampled=1" % ROOT}).root == ROOT
    assert util.construct_xray_header({"HTTP_X_AMZN_TRACE_ID": "Root=%s" % ROOT}).root == ROOT
    header = util.construct_xray_header({"traceparent": "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01"})
    assert (header.root, header.parent, header.sampled) == (ROOT, "53995c3f42cd8ad8", 1)
    assert util.construct_xray_header({}).root is None


def test_inject_for_a_sampled_subsegment() -> None:
    segment = Segment("svc", traceid=ROOT)
    segment.save_origin_trace_header(TraceHeader(root=ROOT, data={"Lineage": "a:1"}))
    sub = Subsegment("call", "remote", segment)
    headers: dict = {}
    util.inject_trace_header(headers, sub)
    assert headers["X-Amzn-Trace-Id"] == "Root=%s;Parent=%s;Sampled=1;Lineage=a:1" % (ROOT, sub.id)


def test_unsampled_requests_keep_the_incoming_trace_id() -> None:
    # Upstream sends Root=1-00000000-000000000000000000000000 here, breaking the trace downstream.
    dummy = DummySegment("svc")
    dummy.save_origin_trace_header(TraceHeader(root=ROOT, parent="53995c3f42cd8ad8", sampled=0))
    headers: dict = {}
    util.inject_trace_header(headers, dummy)
    assert headers["X-Amzn-Trace-Id"] == "Root=%s;Parent=53995c3f42cd8ad8;Sampled=0" % ROOT


def test_traceparent_is_emitted_when_configured() -> None:
    xray_recorder.configure(emit_traceparent=True)
    try:
        segment = Segment("svc", traceid=ROOT)
        headers: dict = {}
        util.inject_trace_header(headers, segment)
        assert headers["traceparent"] == "00-5759e988bd862e3fe1be46a994272793-%s-01" % segment.id
    finally:
        xray_recorder.configure(emit_traceparent=False)


def test_response_header_echoes_the_decision_only_when_asked() -> None:
    segment = Segment("svc", traceid=ROOT)
    assert util.prepare_response_header(TraceHeader(sampled="?"), segment) == "Root=%s;Sampled=1" % ROOT
    assert util.prepare_response_header(TraceHeader(sampled=1), segment) == "Root=%s" % ROOT


class _Recorder:
    def __init__(self, sampling: bool, decision: object) -> None:
        self.sampling = sampling
        self.sampler = type("S", (), {"should_trace": lambda _self, req: decision})()


@pytest.mark.parametrize("header,sampling,decision,expected", [
    (TraceHeader(sampled=0), True, True, 0),
    (TraceHeader(sampled=1), True, False, 1),
    (TraceHeader(), False, False, 1),
    (TraceHeader(sampled="?"), True, "rule-a", "rule-a"),
    (TraceHeader(), True, False, 0),
])
def test_sampling_decision(header, sampling, decision, expected) -> None:  # type: ignore[no-untyped-def]
    assert util.calculate_sampling_decision(header, _Recorder(sampling, decision), {}) == expected


def test_small_helpers() -> None:
    assert util.to_snake_case("TableName") == "table_name"
    assert util.to_snake_case("SSEKMSKeyId") == "ssekms_key_id"
    assert util.strip_url("http://h/p?q=1") == "http://h/p"
    assert util.get_hostname("http://example.com:8080/x") == "example.com"
    assert util.get_hostname("not a url") == "UNKNOWN HOST"
    assert util.get_hostname(None) == "UNKNOWN HOST"

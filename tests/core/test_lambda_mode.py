"""Lambda mode: a facade from ``_X_AMZN_TRACE_ID``, every closed subsegment sent on its own."""

from __future__ import annotations

import logging

import pytest

from fluoro.core.async_recorder import AsyncAWSXRayRecorder
from fluoro.core.emitters.memory import InMemoryEmitter
from fluoro.core.exceptions.exceptions import FacadeSegmentMutationException
from fluoro.core.lambda_launcher import LambdaContext

ROOT = "1-5759e988-bd862e3fe1be46a994272793"
PARENT = "53995c3f42cd8ad8"



@pytest.fixture
def lambda_recorder(monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(tmp_path))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=%s;Parent=%s;Sampled=1" % (ROOT, PARENT))
    recorder = AsyncAWSXRayRecorder()
    recorder.configure(emitter=InMemoryEmitter())
    return recorder


def test_lambda_is_detected(lambda_recorder) -> None:  # type: ignore[no-untyped-def]
    assert isinstance(lambda_recorder.context, LambdaContext)
    assert lambda_recorder.streaming_threshold == 0


def test_each_subsegment_is_streamed_under_the_facade(lambda_recorder) -> None:  # type: ignore[no-untyped-def]
    outer = lambda_recorder.begin_subsegment("outer")
    lambda_recorder.begin_subsegment("inner")
    lambda_recorder.end_subsegment()
    docs = lambda_recorder.emitter.documents
    assert [d["name"] for d in docs] == ["inner"]
    assert docs[0]["parent_id"] == outer.id and docs[0]["trace_id"] == ROOT
    lambda_recorder.end_subsegment()
    assert [d["name"] for d in docs] == ["inner", "outer"]
    assert docs[1]["parent_id"] == PARENT and docs[1]["type"] == "subsegment"
    assert "subsegments" not in docs[1]  # inner was already sent


def test_segments_are_discarded_in_lambda(lambda_recorder, caplog) -> None:  # type: ignore[no-untyped-def]
    with caplog.at_level(logging.WARNING):
        lambda_recorder.begin_segment("segment_1")
    assert "Cannot create segments inside Lambda function. Discarded." in caplog.text
    # As in the article: subsegments opened after it attach to the facade.
    lambda_recorder.begin_subsegment("subsegment_1")
    lambda_recorder.end_subsegment()
    lambda_recorder.end_segment()
    assert lambda_recorder.emitter.documents[0]["parent_id"] == PARENT


def test_facade_refuses_annotations(lambda_recorder) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FacadeSegmentMutationException):
        lambda_recorder.put_annotation("k", "v")


def test_new_invocation_gets_a_new_facade(lambda_recorder, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    first = lambda_recorder.get_trace_entity()
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-00000000000000000000000a;Parent=aaaaaaaaaaaaaaaa;Sampled=1")
    second = lambda_recorder.get_trace_entity()
    assert first.trace_id == ROOT and second.trace_id.endswith("0a") and second.id == "aaaaaaaaaaaaaaaa"


def test_unsampled_invocation_sends_nothing(lambda_recorder, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=%s;Parent=%s;Sampled=0" % (ROOT, PARENT))
    lambda_recorder.begin_subsegment("x")
    lambda_recorder.end_subsegment()
    assert lambda_recorder.emitter.documents == []

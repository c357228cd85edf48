"""Lambda mode: a read-only facade built from ``_X_AMZN_TRACE_ID``; every closed
subsegment is sent on its own, straight away."""

from __future__ import annotations

import logging
import os
import tempfile

import pytest

from fluoro.core.async_recorder import AsyncAWSXRayRecorder
from fluoro.core.emitters.memory import InMemoryEmitter
from fluoro.core.exceptions.exceptions import FacadeSegmentMutationException
from fluoro.core.lambda_launcher import LambdaContext
from fluoro.core.models.dummy_entities import DummySegment, DummySubsegment
from fluoro.core.models.facade_segment import FacadeSegment
from fluoro.core.sampling.local.sampler import LocalSampler

ROOT = "1-5759e988-bd862e3fe1be46a994272793"
PARENT = "53995c3f42cd8ad8"
HEADER = "Root=%s;Parent=%s;Sampled=1" % (ROOT, PARENT)


@pytest.fixture
def recorder(monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    """A NEW recorder created inside a (simulated) Lambda environment."""
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(tmp_path / "task"))
    monkeypatch.setenv("_X_AMZN_TRACE_ID", HEADER)
    monkeypatch.delenv("AWS_XRAY_SDK_ENABLED", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    rec = AsyncAWSXRayRecorder()
    rec.configure(emitter=InMemoryEmitter())
    return rec


def test_lambda_is_detected_and_signalled(recorder, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert isinstance(recorder.context, LambdaContext)
    assert isinstance(recorder.sampler, LocalSampler)
    assert recorder.streaming_threshold == 0
    assert os.path.isfile(tmp_path / ".aws-xray" / "initialized")
    facade = recorder.get_trace_entity()
    assert isinstance(facade, FacadeSegment)
    assert (facade.trace_id, facade.id, facade.sampled) == (ROOT, PARENT, True)


def test_each_closed_subsegment_is_emitted_alone(recorder) -> None:  # type: ignore[no-untyped-def]
    for i in range(3):
        recorder.begin_subsegment("s%d" % i)
        recorder.put_annotation("i", i)
        recorder.end_subsegment()
        assert len(recorder.emitter.documents) == i + 1  # sent as soon as it closes
    for i, doc in enumerate(recorder.emitter.documents):
        assert doc["name"] == "s%d" % i
        assert doc["parent_id"] == PARENT and doc["trace_id"] == ROOT
        assert doc["type"] == "subsegment" and doc["in_progress"] is False
        assert doc["annotations"] == {"i": i}
        assert "end_time" in doc and "subsegments" not in doc
    assert len({d["id"] for d in recorder.emitter.documents}) == 3


def test_nested_subsegments_are_emitted_innermost_first(recorder) -> None:  # type: ignore[no-untyped-def]
    outer = recorder.begin_subsegment("outer")
    with recorder.in_subsegment("inner"):
        pass
    docs = recorder.emitter.documents
    assert [d["name"] for d in docs] == ["inner"]
    assert docs[0]["parent_id"] == outer.id and docs[0]["trace_id"] == ROOT
    recorder.end_subsegment()
    assert [d["name"] for d in docs] == ["inner", "outer"]
    assert docs[1]["parent_id"] == PARENT and "subsegments" not in docs[1]


def test_capture_decorator_in_lambda(recorder) -> None:  # type: ignore[no-untyped-def]
    @recorder.capture("handler_work")
    def work(x: int) -> int:
        return x + 1

    assert work(1) == 2
    (doc,) = recorder.emitter.documents
    assert (doc["name"], doc["parent_id"], doc["trace_id"]) == ("handler_work", PARENT, ROOT)


def test_begin_segment_is_discarded(recorder, caplog) -> None:  # type: ignore[no-untyped-def]
    with caplog.at_level(logging.WARNING):
        segment = recorder.begin_segment("segment_1")
        assert segment.name == "segment_1"  # returned, but not stored
        assert isinstance(recorder.get_trace_entity(), FacadeSegment)
        recorder.begin_subsegment("sub")
        recorder.end_subsegment()
        recorder.end_segment()
    assert "Cannot create segments inside Lambda function. Discarded." in caplog.text
    assert "Cannot end segment inside Lambda function. Ignored." in caplog.text
    (doc,) = recorder.emitter.documents
    assert doc["name"] == "sub" and doc["parent_id"] == PARENT


def test_facade_cannot_be_mutated(recorder) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FacadeSegmentMutationException, match="FacadeSegments cannot be mutated."):
        recorder.put_annotation("k", "v")
    with pytest.raises(FacadeSegmentMutationException):
        recorder.put_metadata("k", "v")
    facade = recorder.get_trace_entity()
    with pytest.raises(FacadeSegmentMutationException):
        facade.close()
    # Inside a subsegment the same calls land on the subsegment.
    with recorder.in_subsegment("sub"):
        recorder.put_annotation("k", "v")
    assert recorder.emitter.documents[0]["annotations"] == {"k": "v"}


def test_new_trace_header_starts_a_new_facade(recorder, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    first = recorder.get_trace_entity()
    recorder.begin_subsegment("left_open")  # never closed in invocation 1
    new_root, new_parent = "1-5759e988-00000000000000000000000a", "aaaaaaaaaaaaaaaa"
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=%s;Parent=%s;Sampled=1" % (new_root, new_parent))
    second = recorder.get_trace_entity()
    assert isinstance(second, FacadeSegment) and second is not first
    assert (second.trace_id, second.id) == (new_root, new_parent)
    assert recorder.get_trace_entity() is second  # same header: same facade
    with recorder.in_subsegment("invocation2"):
        pass
    (doc,) = recorder.emitter.documents
    assert (doc["name"], doc["trace_id"], doc["parent_id"]) == ("invocation2", new_root, new_parent)


def test_unsampled_invocation_emits_nothing(recorder, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=%s;Parent=%s;Sampled=0" % (ROOT, "bbbbbbbbbbbbbbbb"))
    facade = recorder.get_trace_entity()
    assert facade.sampled is False
    sub = recorder.begin_subsegment("x")
    assert isinstance(sub, DummySubsegment)
    recorder.end_subsegment()
    assert recorder.emitter.documents == []


def test_incomplete_header_gives_a_dummy_and_discards(recorder, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a99427279c")
    assert isinstance(recorder.get_trace_entity(), DummySegment)
    recorder.begin_subsegment("x")
    recorder.end_subsegment()
    assert recorder.emitter.documents == []

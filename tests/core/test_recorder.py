"""The recorder's public behaviour: segments, subsegments, capture, streaming, sampling flags."""

from __future__ import annotations

import asyncio
import logging

import pytest

from fluoro import global_sdk_config
from fluoro.core.async_recorder import AsyncAWSXRayRecorder
from fluoro.core.context import Context
from fluoro.core.emitters.memory import InMemoryEmitter
from fluoro.core.exceptions.exceptions import AlreadyEndedException, SegmentNameMissingException
from fluoro.core.models.dummy_entities import DummySegment, DummySubsegment
from fluoro.core.sampling.local.sampler import LocalSampler


@pytest.fixture
def recorder():  # type: ignore[no-untyped-def]
    rec = AsyncAWSXRayRecorder()
    rec.configure(emitter=InMemoryEmitter(), context=Context(), sampler=LocalSampler(), sampling=False, service="svc")
    return rec


def test_nested_subsegments_form_one_document(recorder) -> None:  # type: ignore[no-untyped-def]
    segment = recorder.begin_segment("seg")
    a = recorder.begin_subsegment("a")
    b = recorder.begin_subsegment("b", namespace="remote")
    assert recorder.current_subsegment() is b
    recorder.end_subsegment()
    recorder.end_subsegment()
    assert recorder.emitter.documents == []  # segment still open
    recorder.end_segment()
    (doc,) = recorder.emitter.documents
    assert doc["id"] == segment.id and doc["trace_id"] == segment.trace_id
    (sa,) = doc["subsegments"]
    assert sa["id"] == a.id and sa["parent_id"] == segment.id and sa["namespace"] == "local"
    (sb,) = sa["subsegments"]
    assert sb["name"] == "b" and sb["parent_id"] == a.id and sb["namespace"] == "remote"
    assert doc["in_progress"] is False and doc["end_time"] >= doc["start_time"]
    assert doc["aws"]["xray"]["sdk"] == "X-Ray for Python"
    assert doc["service"]["runtime"] == "CPython"
    assert recorder.get_trace_entity() is None or recorder.context._entities.get() == ()


def test_segment_waits_for_open_subsegments(recorder) -> None:  # type: ignore[no-untyped-def]
    segment = recorder.begin_segment("seg")
    sub = recorder.begin_subsegment("late")
    recorder.end_segment()
    assert recorder.emitter.documents == [] and not segment.ready_to_send()
    assert segment.ref_counter.get_current() == 1
    recorder.set_trace_entity(sub)
    recorder.end_subsegment()
    assert [d["name"] for d in recorder.emitter.documents] == ["seg"]


def test_capture_records_name_and_exception(recorder) -> None:  # type: ignore[no-untyped-def]
    @recorder.capture()
    def compute(x: int) -> int:
        return x * 2

    @recorder.capture("explode")
    def explode() -> None:
        raise KeyError("k")

    recorder.begin_segment("seg")
    assert compute(21) == 42
    with pytest.raises(KeyError):
        explode()
    recorder.end_segment()
    ok, bad = recorder.emitter.documents[0]["subsegments"]
    assert ok["name"] == "compute" and "fault" not in ok
    assert bad["name"] == "explode" and bad["fault"] is True
    exc = bad["cause"]["exceptions"][0]
    assert exc["type"] == "KeyError" and exc["remote"] is False
    assert any(frame["label"] == "explode" for frame in exc["stack"])


def test_capture_on_methods_and_double_decoration(recorder) -> None:  # type: ignore[no-untyped-def]
    class Service:
        @recorder.capture("method")
        def run(self) -> str:
            return "r"

    twice = recorder.capture("outer")(recorder.capture("inner")(lambda: 1))
    recorder.begin_segment("seg")
    assert Service().run() == "r"
    assert twice() == 1
    recorder.end_segment()
    assert [s["name"] for s in recorder.emitter.documents[0]["subsegments"]] == ["method", "inner"]


def test_capture_awaits_coroutines(recorder) -> None:  # type: ignore[no-untyped-def]
    # Upstream's sync capture on an async def closes the subsegment before the coroutine runs.
    @recorder.capture("plain")
    async def plain() -> str:
        await asyncio.sleep(0.02)
        return "p"

    @recorder.capture_async("explicit")
    async def explicit() -> str:
        await asyncio.sleep(0)
        return "e"

    async def main() -> None:
        recorder.begin_segment("seg")
        assert await plain() == "p"
        assert await explicit() == "e"
        async with recorder.in_subsegment_async("block"):
            pass
        recorder.end_segment()

    asyncio.run(main())
    subs = recorder.emitter.documents[0]["subsegments"]
    assert [s["name"] for s in subs] == ["plain", "explicit", "block"]
    assert subs[0]["end_time"] - subs[0]["start_time"] >= 0.015


def test_streaming_sends_closed_subtrees_beyond_the_threshold(recorder) -> None:  # type: ignore[no-untyped-def]
    recorder.configure(streaming_threshold=2)
    segment = recorder.begin_segment("seg")
    for i in range(4):
        recorder.begin_subsegment("c%d" % i)
        recorder.end_subsegment()
    recorder.end_segment()
    docs = recorder.emitter.documents
    assert [d["name"] for d in docs] == ["c0", "c1", "c2", "seg"]
    for standalone in docs[:3]:
        assert standalone["type"] == "subsegment"
        assert standalone["parent_id"] == segment.id and standalone["trace_id"] == segment.trace_id
    assert [s["name"] for s in docs[3]["subsegments"]] == ["c3"]


def test_unsampled_segment_records_nothing(recorder) -> None:  # type: ignore[no-untyped-def]
    segment = recorder.begin_segment("seg", sampling=0)
    assert isinstance(segment, DummySegment) and not recorder.is_sampled()
    sub = recorder.begin_subsegment("x")
    assert isinstance(sub, DummySubsegment)
    recorder.put_annotation("k", "v")
    recorder.end_subsegment()
    recorder.end_segment()
    assert recorder.emitter.documents == []


def test_begin_subsegment_without_sampling(recorder) -> None:  # type: ignore[no-untyped-def]
    recorder.begin_segment("seg")
    quiet = recorder.begin_subsegment_without_sampling("quiet")
    child = recorder.begin_subsegment("child")
    assert not quiet.sampled and not child.sampled
    recorder.end_subsegment()
    recorder.end_subsegment()
    recorder.end_segment()
    assert recorder.emitter.documents[0].get("subsegments") is None


def test_segment_name_required(recorder) -> None:  # type: ignore[no-untyped-def]
    recorder.service = None
    with pytest.raises(SegmentNameMissingException):
        recorder.begin_segment()


def test_disabled_sdk_returns_dummies(recorder, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(type(global_sdk_config), "_enabled", False)
    segment = recorder.begin_segment("seg")
    assert isinstance(segment, DummySegment)
    assert isinstance(recorder.begin_subsegment("x"), DummySubsegment)
    recorder.end_subsegment()
    recorder.end_segment()
    assert recorder.emitter.documents == []


def test_no_segment_warns_and_returns_none(recorder, caplog) -> None:  # type: ignore[no-untyped-def]
    with caplog.at_level(logging.WARNING):
        assert recorder.begin_subsegment("orphan") is None
    assert "No segment found, cannot begin subsegment orphan." in caplog.text


def test_closed_entities_cannot_be_modified(recorder) -> None:  # type: ignore[no-untyped-def]
    segment = recorder.begin_segment("seg")
    recorder.end_segment()
    with pytest.raises(AlreadyEndedException):
        segment.put_annotation("k", 1)


def test_sampling_rule_name_and_user(recorder) -> None:  # type: ignore[no-untyped-def]
    segment = recorder.begin_segment("seg", sampling="my-rule")
    segment.set_user("alice")
    recorder.end_segment()
    doc = recorder.emitter.documents[0]
    assert doc["aws"]["xray"]["sampling_rule_name"] == "my-rule"
    assert doc["user"] == "alice"
    # The shared aws block was copied, not changed, for this segment.
    other = recorder.begin_segment("seg2")
    recorder.end_segment()
    assert "sampling_rule_name" not in recorder.emitter.documents[1]["aws"]["xray"]
    assert other.aws["xray"]["sdk"] == "X-Ray for Python"


def test_capture_under_an_unsampled_segment_behaves_like_the_general_path(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The inlined unsampled path of ``@capture``: dummies, nesting, exceptions, context restored."""
    from fluoro.core.context import Context
    from fluoro.core.emitters.memory import InMemoryEmitter
    from fluoro.core.models.dummy_entities import DummySegment, DummySubsegment
    from fluoro.core.recorder import AWSXRayRecorder

    monkeypatch.setenv("AWS_XRAY_NOOP_ID", "false")
    recorder = AWSXRayRecorder()
    emitter = InMemoryEmitter()
    recorder.configure(sampling=False, context=Context(), emitter=emitter, service="t")
    seen = []

    @recorder.capture("in er")  # sanitized like any name: "in er" is valid, kept
    def inner() -> str:
        seen.append(recorder.current_subsegment())
        return "ok"

    @recorder.capture("outer")
    def outer() -> str:
        seen.append(recorder.current_subsegment())
        return inner()

    @recorder.capture("boom")
    def boom() -> None:
        seen.append(recorder.current_subsegment())
        raise KeyError("x")

    segment = recorder.begin_segment("unsampled", sampling=0)
    assert isinstance(segment, DummySegment)
    assert outer() == "ok"
    outer_sub, inner_sub = seen
    assert type(outer_sub) is DummySubsegment and type(inner_sub) is DummySubsegment
    assert (outer_sub.name, inner_sub.name) == ("outer", "in er")
    assert inner_sub.parent_id == outer_sub.id and outer_sub.parent_id == segment.id
    assert outer_sub.id != "0000000000000000"  # AWS_XRAY_NOOP_ID=false: real ids
    assert not outer_sub.in_progress and not inner_sub.in_progress
    assert recorder.get_trace_entity() is segment
    with pytest.raises(KeyError):
        boom()
    assert recorder.get_trace_entity() is segment
    assert seen[-1].name == "boom" and not seen[-1].in_progress

    @recorder.capture("closes_itself")
    def closes_itself() -> None:
        recorder.end_subsegment()

    closes_itself()
    assert recorder.get_trace_entity() is segment
    recorder.end_segment()
    assert recorder.get_trace_entity() is None
    assert emitter.documents == []  # nothing unsampled is ever sent


def test_disabling_mid_segment_stops_recording_on_the_fast_paths(recorder, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The hot paths read a mirror of the enabled switch; switching off with an open segment
    must reach them (begin/end, ``@capture``) just as it reaches the general path."""
    monkeypatch.delenv("AWS_XRAY_SDK_ENABLED", raising=False)
    monkeypatch.setattr(type(global_sdk_config), "_enabled", True)
    from fluoro.sdk_config import ENABLED

    assert ENABLED[0] is True  # the fast paths are on

    @recorder.capture("captured")
    def captured() -> object:
        return recorder.current_subsegment()

    segment = recorder.begin_segment("seg")
    global_sdk_config.set_sdk_enabled(False)
    try:
        sub = recorder.begin_subsegment("while-off")
        assert isinstance(sub, DummySubsegment) and sub.parent_segment is not segment
        recorder.end_subsegment()
        assert isinstance(captured(), DummySubsegment)
        assert ENABLED[0] is False
    finally:
        global_sdk_config.set_sdk_enabled(True)
    recorder.begin_subsegment("back-on")
    recorder.end_subsegment()
    recorder.end_segment()
    (doc,) = [d for d in recorder.emitter.documents]
    assert [s["name"] for s in doc.get("subsegments", [])] == ["back-on"]


@pytest.mark.parametrize("noop_ids", ["true", "false"])
def test_long_unsampled_segment_does_not_grow(recorder, monkeypatch, noop_ids) -> None:  # type: ignore[no-untyped-def]
    """Dummies created by the recorder are not linked into their unsampled segment: a
    long-lived one (a worker's) would otherwise hold every dummy ever created under it.
    Nothing else holds them either, so each is freed as soon as it ends, without the
    cyclic collector."""
    import gc
    import weakref

    monkeypatch.setenv("AWS_XRAY_NOOP_ID", noop_ids)

    @recorder.capture("captured")
    def captured() -> weakref.ref:
        return weakref.ref(recorder.current_subsegment())

    segment = recorder.begin_segment("worker", sampling=0)
    gc.disable()
    try:
        refs = []
        for _ in range(500):
            refs.append(captured())
            with recorder.in_subsegment("block") as block:
                refs.append(weakref.ref(block))
            recorder.begin_subsegment("begun")
            refs.append(weakref.ref(recorder.current_subsegment()))
            recorder.end_subsegment()
        del block
        assert [ref for ref in refs if ref() is not None] == []
    finally:
        gc.enable()
    assert segment.subsegments == [] and segment.get_total_subsegments_size() == 0
    assert segment.ref_counter.get_current() == 0
    assert recorder.get_trace_entity() is segment
    recorder.end_segment()
    assert recorder.get_trace_entity() is None
    assert recorder.emitter.documents == []


@pytest.mark.parametrize("noop_ids", ["true", "false"])
def test_unsampled_dummies_nest_and_record_nothing(recorder, monkeypatch, noop_ids) -> None:  # type: ignore[no-untyped-def]
    """Inside unsampled ``@capture`` calls and ``begin_subsegment``: the current subsegment is
    a dummy of the right parent and trace, its recording methods are no-ops, and ending pops
    exactly one level."""
    from fluoro.core.models.dummy_entities import NOOP_ENTITY_ID, NOOP_TRACE_ID

    monkeypatch.setenv("AWS_XRAY_NOOP_ID", noop_ids)
    seen: list = []

    @recorder.capture("inner")
    def inner() -> None:
        sub = recorder.current_subsegment()
        seen.append(sub)
        sub.put_annotation("k", "v")
        sub.put_metadata("k", {"v": 1})
        sub.put_http_meta("url", "http://x")
        sub.add_exception(ValueError("x"), [])
        recorder.put_annotation("k2", "v")
        recorder.put_metadata("k2", "v")

    @recorder.capture("outer")
    def outer() -> None:
        seen.append(recorder.current_subsegment())
        inner()
        assert recorder.current_subsegment() is seen[0]  # inner popped only itself

    segment = recorder.begin_segment("unsampled", sampling=0)
    begun = recorder.begin_subsegment("begun")
    assert recorder.current_subsegment() is begun
    outer()
    assert recorder.current_subsegment() is begun
    recorder.end_subsegment()
    assert recorder.get_trace_entity() is segment
    outer_sub, inner_sub = seen
    for sub in (begun, outer_sub, inner_sub):
        assert type(sub) is DummySubsegment and not sub.sampled and not sub.in_progress
        assert sub.parent_segment is segment and sub.trace_id == segment.trace_id
        assert sub.namespace == "dummy" and sub.end_time >= sub.start_time
        assert not sub.annotations and not sub.metadata and not sub.http and not sub.cause
        assert sub.serialize() is None and sub.subsegments == []
    assert (begun.name, outer_sub.name, inner_sub.name) == ("begun", "outer", "inner")
    assert begun.parent_id == segment.id and outer_sub.parent_id == begun.id and inner_sub.parent_id == outer_sub.id
    if noop_ids == "true":
        assert {s.id for s in (segment, begun, outer_sub, inner_sub)} == {NOOP_ENTITY_ID}
        assert segment.trace_id == NOOP_TRACE_ID
    else:
        assert len({s.id for s in (segment, begun, outer_sub, inner_sub)} | {NOOP_ENTITY_ID}) == 5
        assert segment.trace_id != NOOP_TRACE_ID
    assert not segment.annotations and not segment.metadata
    recorder.end_segment()
    assert recorder.get_trace_entity() is None and recorder.emitter.documents == []


def test_unsampled_segment_waits_for_its_open_dummy(recorder) -> None:  # type: ignore[no-untyped-def]
    """Unlinked dummies still count as open: ending the segment first keeps the context
    until the last one ends, as with sampled segments."""
    segment = recorder.begin_segment("unsampled", sampling=0)
    recorder.begin_subsegment("open")
    recorder.end_segment()
    assert not segment.in_progress and not segment.ready_to_send()
    assert recorder.get_trace_entity() is not segment  # the dummy is still current
    recorder.end_subsegment()
    assert segment.ready_to_send() and recorder.get_trace_entity() is None


def test_explicit_add_subsegment_still_links_dummies() -> None:
    segment = DummySegment()
    sub = DummySubsegment(segment, "child")
    segment.add_subsegment(sub)
    assert segment.subsegments == [sub] and sub.parent_id == segment.id
    assert segment.get_total_subsegments_size() == 1 and not segment.ready_to_send()
    sub.close()
    segment.close()
    assert segment.ready_to_send()


@pytest.mark.parametrize("sampling", [None, 0])
def test_capture_pops_to_what_the_function_left_under_its_subsegment(recorder, caplog, sampling) -> None:  # type: ignore[no-untyped-def]
    """A captured function that re-rooted the context at its own subsegment
    (``set_trace_entity``) leaves it at what is under that subsegment now, not at the
    caller's stack, on the sampled and the unsampled inlined paths alike."""

    @recorder.capture("rerooted")
    def rerooted() -> None:
        recorder.set_trace_entity(recorder.current_subsegment())

    @recorder.capture("plain")
    def plain() -> object:
        return recorder.current_subsegment()

    segment = recorder.begin_segment("seg", sampling=sampling)
    outer = recorder.begin_subsegment("outer")
    assert plain().parent_id == outer.id and recorder.current_subsegment() is outer
    rerooted()
    with caplog.at_level(logging.ERROR):
        assert recorder.get_trace_entity() is None  # nothing was under the re-rooted subsegment
    recorder.set_trace_entity(segment)
    recorder.end_segment()

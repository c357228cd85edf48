"""Parenting across threads and asyncio, and the context-missing strategies."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from fluoro.core.async_context import AsyncContext
from fluoro.core.async_recorder import AsyncAWSXRayRecorder
from fluoro.core.context import Context
from fluoro.core.emitters.memory import InMemoryEmitter
from fluoro.core.exceptions.exceptions import SegmentNotFoundException
from fluoro.core.models.trace_header import TraceHeader
from fluoro.core.sampling.local.sampler import LocalSampler


def _recorder(context) -> AsyncAWSXRayRecorder:  # type: ignore[no-untyped-def]
    rec = AsyncAWSXRayRecorder()
    rec.configure(emitter=InMemoryEmitter(), context=context, sampler=LocalSampler(), sampling=False, service="svc")
    return rec


def _tree(doc: dict) -> dict:
    return {s["name"]: _tree(s) for s in doc.get("subsegments", [])}


def test_asyncio_gather_to_thread_and_executor_parent_correctly() -> None:
    rec = _recorder(AsyncContext())

    async def child(n: int) -> None:
        async with rec.in_subsegment_async("child%d" % n):
            await asyncio.sleep(0.01)
            async with rec.in_subsegment_async("grandchild%d" % n):
                await asyncio.sleep(0.01)

    def blocking(name: str) -> None:
        with rec.in_subsegment(name):
            pass

    async def main() -> None:
        rec.begin_segment("seg")
        await asyncio.gather(child(1), child(2))
        await asyncio.to_thread(blocking, "to_thread")
        await asyncio.get_running_loop().run_in_executor(None, blocking, "executor")
        rec.end_segment()

    asyncio.run(main())
    assert _tree(rec.emitter.documents[0]) == {
        "child1": {"grandchild1": {}}, "child2": {"grandchild2": {}}, "to_thread": {}, "executor": {}}


def test_new_threads_start_without_a_segment_and_can_adopt_one() -> None:
    rec = _recorder(Context(context_missing="IGNORE_ERROR"))
    segment = rec.begin_segment("seg")
    seen: list = []

    def worker() -> None:
        seen.append(rec.get_trace_entity())
        rec.set_trace_entity(segment)
        with rec.in_subsegment("in_thread"):
            pass
        rec.clear_trace_entities()

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    rec.end_segment()
    assert seen == [None]
    assert _tree(rec.emitter.documents[0]) == {"in_thread": {}}


def test_thread_pool_helper_runs_work_in_the_submitters_context() -> None:
    from fluoro.core.threads import TracedThreadPoolExecutor

    rec = _recorder(Context())
    rec.begin_segment("seg")
    with rec.in_subsegment("parent"):
        with TracedThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(lambda i: rec.capture("work%d" % i)(lambda: i)(), range(3)))
    rec.end_segment()
    assert _tree(rec.emitter.documents[0]) == {"parent": {"work0": {}, "work1": {}, "work2": {}}}
    # A plain pool, by contrast, does not carry the context.
    rec.configure(context_missing="IGNORE_ERROR")
    rec.begin_segment("seg2")
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(rec.get_trace_entity).result() is None
    rec.end_segment()


@pytest.mark.parametrize("strategy", ["LOG_ERROR", "IGNORE_ERROR"])
def test_missing_context_returns_none(strategy: str) -> None:
    rec = _recorder(Context(context_missing=strategy))
    assert rec.get_trace_entity() is None
    assert rec.begin_subsegment("x") is None


def test_runtime_error_strategy_raises() -> None:
    rec = _recorder(Context(context_missing="RUNTIME_ERROR"))
    with pytest.raises(SegmentNotFoundException):
        rec.begin_subsegment("x")

    @rec.capture("f")
    def f() -> int:
        return 1

    with pytest.raises(SegmentNotFoundException):
        f()


@pytest.mark.parametrize("raw,root,parent,sampled", [
    ("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
     "1-5759e988-bd862e3fe1be46a994272793", "53995c3f42cd8ad8", 1),
    # Tolerant where upstream drops the whole header: trailing ';', spaces.
    ("Root=1-5759e988-bd862e3fe1be46a994272793; Parent=53995c3f42cd8ad8 ;Sampled=0;",
     "1-5759e988-bd862e3fe1be46a994272793", "53995c3f42cd8ad8", 0),
    ("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=?", "1-5759e988-bd862e3fe1be46a994272793", None, "?"),
    ("garbage", None, None, None),
])
def test_trace_header_parsing(raw, root, parent, sampled) -> None:  # type: ignore[no-untyped-def]
    header = TraceHeader.from_header_str(raw)
    assert (header.root, header.parent, header.sampled) == (root, parent, sampled)


def test_trace_header_w3c_round_trip() -> None:
    header = TraceHeader.from_traceparent("00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01")
    assert header is not None and header.root == "1-5759e988-bd862e3fe1be46a994272793"
    assert header.to_traceparent() == "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01"
    assert TraceHeader.from_traceparent("00-" + "0" * 32 + "-53995c3f42cd8ad8-01") is None
    assert TraceHeader.from_traceparent("not a traceparent") is None
    assert header.to_header_str() == "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"

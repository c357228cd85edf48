"""Where the current entity lives: asyncio tasks, worker threads, executors, and what
happens when there is none (the context-missing strategies)."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from fluoro.core.async_context import AsyncContext
from fluoro.core.context import MISSING_SEGMENT_MSG, Context
from fluoro.core.exceptions.exceptions import SegmentNotFoundException
from fluoro.core.models.segment import Segment
from fluoro.core.models.subsegment import Subsegment


@pytest.fixture
def recorder(global_recorder):  # type: ignore[no-untyped-def]
    return global_recorder

def _tree(doc: dict) -> dict:
    return {s["name"]: _tree(s) for s in doc.get("subsegments", [])}


def _by_name(doc: dict, out: dict | None = None) -> dict:
    out = {} if out is None else out
    for sub in doc.get("subsegments", []):
        out[sub["name"]] = sub
        _by_name(sub, out)
    return out


# -- asyncio ---------------------------------------------------------------------------

def test_gather_children_parent_to_the_awaiting_entity(recorder) -> None:  # type: ignore[no-untyped-def]
    recorder.configure(context=AsyncContext())

    async def child(n: int, barrier: list) -> None:
        async with recorder.in_subsegment_async("child%d" % n):
            barrier.append(n)
            # Both children are open at once: interleaved, not sequential.
            while len(barrier) < 2:
                await asyncio.sleep(0)
            async with recorder.in_subsegment_async("grandchild%d" % n) as sub:
                await asyncio.sleep(0.005)
                sub.put_annotation("n", n)

    async def main() -> None:
        async with recorder.in_segment_async("seg"):
            barrier: list = []
            await asyncio.gather(child(1, barrier), child(2, barrier), child(3, barrier))

    asyncio.run(main())
    (doc,) = recorder.emitter.documents
    assert _tree(doc) == {"child1": {"grandchild1": {}}, "child2": {"grandchild2": {}},
                          "child3": {"grandchild3": {}}}
    subs = _by_name(doc)
    for n in (1, 2, 3):
        assert subs["child%d" % n]["parent_id"] == doc["id"]
        assert subs["grandchild%d" % n]["parent_id"] == subs["child%d" % n]["id"]
        assert subs["grandchild%d" % n]["annotations"] == {"n": n}


def test_capture_async_under_gather(recorder) -> None:  # type: ignore[no-untyped-def]
    recorder.configure(context=AsyncContext())

    @recorder.capture_async("work")
    async def work(n: int) -> int:
        await asyncio.sleep(0.001)
        return n * 2

    async def main() -> list:
        recorder.begin_segment("seg")
        with recorder.in_subsegment("parent"):
            out = await asyncio.gather(*(work(n) for n in range(4)))
        recorder.end_segment()
        return out

    assert asyncio.run(main()) == [0, 2, 4, 6]
    (doc,) = recorder.emitter.documents
    (parent,) = doc["subsegments"]
    assert [s["name"] for s in parent["subsegments"]] == ["work"] * 4
    assert {s["parent_id"] for s in parent["subsegments"]} == {parent["id"]}


def test_to_thread_and_run_in_executor_keep_the_parent(recorder) -> None:  # type: ignore[no-untyped-def]
    recorder.configure(context=AsyncContext())
    threads: list = []

    def blocking(name: str) -> str:
        threads.append(threading.get_ident())
        with recorder.in_subsegment(name):
            pass
        return name

    async def main() -> None:
        recorder.begin_segment("seg")
        with recorder.in_subsegment("outer"):
            assert await asyncio.to_thread(blocking, "to_thread") == "to_thread"
            loop = asyncio.get_running_loop()
            # Upstream loses the segment here (issue #446); fluoro copies the caller's context.
            assert await loop.run_in_executor(None, blocking, "executor") == "executor"
        # After the subsegment closed, new work parents to the segment again.
        await asyncio.to_thread(blocking, "after")
        recorder.end_segment()

    asyncio.run(main())
    assert threading.get_ident() not in threads
    (doc,) = recorder.emitter.documents
    assert _tree(doc) == {"outer": {"to_thread": {}, "executor": {}}, "after": {}}
    subs = _by_name(doc)
    assert subs["to_thread"]["parent_id"] == subs["outer"]["id"] == subs["executor"]["parent_id"]
    assert subs["after"]["parent_id"] == doc["id"]


# -- threads ---------------------------------------------------------------------------

def test_new_thread_sees_no_segment(recorder, caplog) -> None:  # type: ignore[no-untyped-def]
    segment = recorder.begin_segment("seg")
    seen: dict = {}

    def worker() -> None:
        seen["entity"] = recorder.get_trace_entity()
        seen["segment"] = recorder.current_segment()
        seen["subsegment"] = recorder.begin_subsegment("orphan")

    with caplog.at_level(logging.WARNING):
        t = threading.Thread(target=worker)
        t.start()
        t.join()
    assert seen == {"entity": None, "segment": None, "subsegment": None}
    assert MISSING_SEGMENT_MSG in caplog.text
    assert "No segment found, cannot begin subsegment orphan." in caplog.text
    # The main thread is untouched.
    assert recorder.get_trace_entity() is segment
    recorder.end_segment()
    assert "subsegments" not in recorder.emitter.documents[0]


def test_set_trace_entity_in_a_worker_thread(recorder) -> None:  # type: ignore[no-untyped-def]
    segment = recorder.begin_segment("seg")
    parent = recorder.begin_subsegment("parent")
    entity = recorder.get_trace_entity()
    assert entity is parent
    seen: dict = {}

    def worker() -> None:
        recorder.set_trace_entity(entity)
        seen["current"] = recorder.get_trace_entity()
        seen["segment"] = recorder.current_segment()
        with recorder.in_subsegment("in_thread") as sub:
            sub.put_annotation("thread", True)
        seen["after"] = recorder.get_trace_entity()
        recorder.clear_trace_entities()

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert seen["current"] is parent and seen["after"] is parent
    assert seen["segment"] is segment
    assert isinstance(seen["segment"], Segment) and isinstance(seen["current"], Subsegment)
    assert recorder.get_trace_entity() is parent  # main thread's stack unchanged
    recorder.end_subsegment()
    recorder.end_segment()
    (doc,) = recorder.emitter.documents
    assert _tree(doc) == {"parent": {"in_thread": {}}}
    in_thread = doc["subsegments"][0]["subsegments"][0]
    assert in_thread["parent_id"] == parent.id and in_thread["annotations"] == {"thread": True}


# -- context missing -------------------------------------------------------------------

def test_log_error_returns_none_and_logs(recorder, caplog) -> None:  # type: ignore[no-untyped-def]
    recorder.configure(context_missing="LOG_ERROR")
    with caplog.at_level(logging.DEBUG):
        assert recorder.get_trace_entity() is None
        assert recorder.begin_subsegment("x") is None
        assert recorder.current_subsegment() is None
        recorder.end_subsegment()
        recorder.put_annotation("k", "v")
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors and all(r.getMessage() == MISSING_SEGMENT_MSG for r in errors)
    assert recorder.emitter.documents == []


def test_ignore_error_returns_none_silently(recorder, caplog) -> None:  # type: ignore[no-untyped-def]
    recorder.configure(context_missing="IGNORE_ERROR")
    with caplog.at_level(logging.DEBUG):
        assert recorder.get_trace_entity() is None
        assert recorder.begin_subsegment("x") is None

        @recorder.capture("f")
        def f() -> int:
            return 5

        assert f() == 5
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert MISSING_SEGMENT_MSG not in caplog.text


def test_runtime_error_raises_from_begin_subsegment(recorder) -> None:  # type: ignore[no-untyped-def]
    recorder.configure(context_missing="RUNTIME_ERROR")
    assert recorder.context.context_missing == "RUNTIME_ERROR"
    with pytest.raises(SegmentNotFoundException, match="cannot find the current segment"):
        recorder.begin_subsegment("x")
    calls: list = []

    @recorder.capture("f")
    def f() -> None:
        calls.append(1)

    with pytest.raises(SegmentNotFoundException):
        f()
    assert calls == []  # raised before the wrapped function ran
    # With a segment open, nothing is raised.
    recorder.begin_segment("seg")
    assert recorder.begin_subsegment("x").name == "x"
    recorder.end_subsegment()
    recorder.end_segment()
    assert recorder.emitter.documents[0]["subsegments"][0]["name"] == "x"


def test_unsupported_strategy_keeps_the_previous_one(recorder, caplog) -> None:  # type: ignore[no-untyped-def]
    recorder.configure(context_missing="IGNORE_ERROR")
    with caplog.at_level(logging.WARNING):
        recorder.configure(context_missing="EXPLODE")
    assert recorder.context.context_missing == "IGNORE_ERROR"
    assert "specified context_missing not supported, using default." in caplog.text


def test_environment_strategy_wins(recorder, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AWS_XRAY_CONTEXT_MISSING", "RUNTIME_ERROR")
    recorder.configure(context_missing="IGNORE_ERROR")
    assert recorder.context.context_missing == "RUNTIME_ERROR"
    assert Context().context_missing == "RUNTIME_ERROR"


def test_task_local_storage_is_private_to_each_task() -> None:
    from fluoro.core.async_context import TaskLocalStorage

    storage = TaskLocalStorage()

    async def remember(value: int) -> tuple[int, object]:
        storage.value = value
        await asyncio.sleep(0)
        seen = storage.value
        storage.clear()
        with pytest.raises(AttributeError):
            storage.value  # noqa: B018
        return value, seen

    async def main() -> list[tuple[int, object]]:
        return await asyncio.gather(*(remember(i) for i in range(50)))

    assert all(value == seen for value, seen in asyncio.run(main()))
    storage.ignored = 1  # outside a task: dropped, as upstream
    assert storage.ignored is None

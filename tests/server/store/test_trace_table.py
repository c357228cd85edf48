"""The DuckDB per-trace table: what it answers equals the live aggregate, in every state.

``find_traces`` reads ``traces`` for summarized traces and aggregates the rest
live.  These tests hold the same data in four states — nothing summarized,
nothing summarized with the live-only fallback, partly summarized with newer
documents pending, fully summarized — and require identical pages
(ids, sort and matched times, TracesProcessedCount, paging) from all of them.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fluoro.ingest import ingest
from fluoro.query.filters import parse
from fluoro.query.filters.ast import Node
from fluoro.query.service import QueryService
from fluoro.store.api import SegmentBatch, TimeRangeType, TraceQuery
from fluoro.store.columns import ArrowBatch
from fluoro.store.duckdb import DuckDBConfig, DuckDBStore, reader, trace_table

from ..helpers_docs import new_id, new_trace_id, segment
from ..query.test_filter_pushdown_property import BASE, expressions, traces
from .test_conformance import batch_of

Page = tuple[list[tuple[str, float, float | None]], int, bool]


def quiet_store(path: str = ":memory:") -> DuckDBStore:
    """A store whose summarizer runs only when the test says so."""
    return DuckDBStore(DuckDBConfig(path=path, summarize_every=0))


def all_pages(store: DuckDBStore, query: TraceQuery, marks: reader.Marks | None = None) -> list[Page]:
    """Every page; with ``marks``, searched as of those (``store.find_traces`` uses its latest)."""
    out: list[Page] = []
    while True:
        page = store.find_traces(query) if marks is None else store._read(reader.find_traces, query, marks)
        out.append(([(h.trace_id, h.sort_time, h.matched_event_time) for h in page.hits], page.processed, page.more))
        if not page.more or not page.hits:
            return out
        query = TraceQuery(query.start, query.end, query.range_type, query.filter, query.limit,
                           (page.hits[-1].sort_time, page.hits[-1].trace_id))  # fmt: skip


def live_only(store: DuckDBStore, query: TraceQuery, monkeypatch: pytest.MonkeyPatch) -> list[Page]:
    with monkeypatch.context() as m:
        m.setattr(reader, "LIVE_ONLY_ABOVE", -1)
        return all_pages(store, query)


def table_rows(store: DuckDBStore) -> int:
    row = store._db.execute("SELECT count(*) FROM traces").fetchone()
    return int(row[0]) if row else 0


def arrow(docs: list[dict[str, Any]], received: float = 1.0) -> ArrowBatch:
    batch = SegmentBatch()
    for doc in docs:
        ingest(batch, json.dumps(doc).encode(), received)
    return ArrowBatch.from_batch(batch)


@st.composite
def windows(draw: Any) -> tuple[float, float]:
    lo = BASE + draw(st.integers(0, 40)) * 0.25
    return lo, lo + draw(st.integers(0, 40)) * 0.25


@st.composite
def arrivals(draw: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Random traces split into two deliveries; some documents first arrive in progress."""
    first: list[dict[str, Any]] = []
    second: list[dict[str, Any]] = []
    for i in range(draw(st.integers(1, 6))):
        for doc in draw(traces(i)):
            if "end_time" in doc and draw(st.integers(0, 4)) == 0:
                first.append({k: v for k, v in doc.items() if k != "end_time"} | {"in_progress": True})
                second.append(doc)
            else:
                (first if draw(st.booleans()) else second).append(doc)
    return first, second


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_table_and_live_answer_alike(data: Any) -> None:
    first, second = data.draw(arrivals(), label="deliveries")
    exprs: list[Node | None] = [None, *data.draw(st.lists(expressions, min_size=1, max_size=3), label="expressions")]
    queries = []
    for expr in exprs:
        limit = data.draw(st.sampled_from([1, 2, 1000]), label="limit")
        queries.append(TraceQuery(BASE, BASE + 100, TimeRangeType.TRACE_ID, expr, limit))
        for range_type in TimeRangeType:  # windows whose ends fall on trace times and inside traces
            lo, hi = data.draw(windows(), label="window")
            queries.append(TraceQuery(lo, hi, range_type, expr, limit))
    store = quiet_store()
    try:
        never = store._marks
        store.write(arrow(first))
        store.wait_summarized(60)
        earlier = store._marks
        store.write(arrow(second))  # pending: newer than the watermark, some replacing rows in the table
        mixed = [all_pages(store, q) for q in queries]
        with pytest.MonkeyPatch.context() as m:
            m.setattr(reader, "LIVE_ONLY_ABOVE", -1)
            live = [all_pages(store, q) for q in queries]
        assert store.wait_summarized(60)
        # The store's copy is what is committed (a delivery may be empty: nothing to advance).
        assert store._marks == store._read(reader.read_marks)
        assert store._marks.watermark >= earlier.watermark >= never.watermark
        summarized = [all_pages(store, q) for q in queries]
        # Marks committed earlier than the snapshot (what a search may hold) answer the same.
        stale = [all_pages(store, q, earlier) for q in queries]
        for query, a, b, c, d in zip(queries, live, mixed, summarized, stale):
            assert a == b == c == d, query
    finally:
        store.close()


def test_searches_take_the_marks_from_memory_not_from_meta(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading ``meta`` waits for a running checkpoint; the jobs keep the store's copy current."""
    from fluoro.query.rollup import GraphRollup
    from fluoro.store.duckdb import graph

    store = quiet_store()
    try:
        doc = segment(new_trace_id(BASE + 1), start_time=BASE + 1, end_time=BASE + 2)
        store.write(arrow([doc]))
        assert store.wait_summarized(60) and GraphRollup(store).run_once() == 1
        assert store._marks == store._read(reader.read_marks) and store._marks.graph_cursor >= 0

        def no_meta(read: Callable[..., int]) -> Callable[..., int]:
            # Only for this thread: background jobs of other stores in this process
            # (module-scoped servers) still read their marks.
            caller = threading.get_ident()

            def guarded(*args: Any) -> int:
                if threading.get_ident() == caller:
                    raise AssertionError("a search read meta")
                return read(*args)

            return guarded

        monkeypatch.setattr(trace_table, "watermark", no_meta(trace_table.watermark))
        monkeypatch.setattr(graph, "cursor", no_meta(graph.cursor))
        out = QueryService(store).get_trace_summaries(
            {"StartTime": BASE, "EndTime": BASE + 100, "FilterExpression": 'service("svc") AND duration < 5'}
        )
        assert [t["Id"] for t in out["TraceSummaries"]] == [doc["trace_id"]]
    finally:
        store.close()


def test_no_table_live_and_fallback_agree_before_any_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    """Before the first cycle every trace is pending: the table is unused, both live paths agree."""
    base = int(time.time()) - 600
    docs = [segment(new_trace_id(base + i), start_time=base + i, end_time=base + i + 0.5 * (i % 3),
                    annotations={"i": i}, http={"response": {"status": 500 if i % 4 == 0 else 200}})
            for i in range(40)]  # fmt: skip
    store = quiet_store()
    try:
        store.write(batch_of(*docs))
        for expr in (None, parse("fault"), parse("annotation.i >= 30"), parse("duration > 0.2")):
            for range_type in TimeRangeType:
                query = TraceQuery(base, base + 100, range_type, expr, limit=7)
                expected = live_only(store, query, monkeypatch)
                assert all_pages(store, query) == expected
                assert sum(len(p[0]) for p in expected) > 0
        assert table_rows(store) == 0
    finally:
        store.close()


def test_trace_arriving_over_several_cycles() -> None:
    """In progress, then complete with a late subsegment: the row is replaced each cycle, never doubled."""
    base = time.time() - 60
    trace_id = new_trace_id(base)
    root = segment(trace_id, start_time=base, end_time=base + 1, http={"response": {"status": 200}})
    partial = {k: v for k, v in root.items() if k != "end_time"} | {"in_progress": True}
    store = quiet_store()
    window = TraceQuery(base - 10, base + 10)

    def hits(expr: str) -> list[str]:
        return [h.trace_id for h in store.find_traces(TraceQuery(base - 10, base + 10, filter=parse(expr))).hits]

    try:
        store.write(batch_of(partial))
        store.wait_summarized(10)
        assert hits("partial") == [trace_id] and table_rows(store) == 1
        store.write(batch_of(root))  # replaces the in-progress document: visible before the next cycle
        assert hits("partial") == [] and hits("responsetime = 1") == [trace_id]
        store.wait_summarized(10)
        assert hits("partial") == [] and hits("responsetime = 1") == [trace_id] and table_rows(store) == 1
        late = segment(trace_id, id=new_id(), type="subsegment", parent_id=root["id"], start_time=base + 0.5,
                       end_time=base + 3, http={"response": {"status": 429}})  # fmt: skip
        store.write(batch_of(late))
        assert hits("duration = 3") == [trace_id] and hits("throttle") == [trace_id] and hits("fault") == []
        store.wait_summarized(10)
        assert hits("duration = 3") == [trace_id] and hits("throttle") == [trace_id] and table_rows(store) == 1
        assert [h.trace_id for h in store.find_traces(window).hits] == [trace_id]
    finally:
        store.close()


def test_fresh_documents_are_visible_at_once_with_the_summarizer_running() -> None:
    """The background summarizer never hides a commit: queries aggregate what it has not reached."""
    store = DuckDBStore(DuckDBConfig(summarize_every=0.01))
    service = QueryService(store)
    try:
        now = time.time()
        for i in range(30):
            doc = segment(annotations={"n": i}, start_time=now, end_time=now + 0.5)
            store.write(batch_of(doc))
            body = {"StartTime": now - 60, "EndTime": now + 60, "FilterExpression": f"annotation.n = {i}"}
            assert [s["Id"] for s in service.get_trace_summaries(body)["TraceSummaries"]] == [doc["trace_id"]]
        assert store.wait_summarized(10)
        assert len(service.get_trace_summaries({"StartTime": now - 60, "EndTime": now + 60})["TraceSummaries"]) == 30
    finally:
        store.close()


def test_version_1_file_is_back_filled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file written before the table existed opens at once, answers right meanwhile, and fills the table."""
    path = str(tmp_path / "v1.duckdb")
    base = int(time.time()) - 900
    docs = [segment(new_trace_id(base + i % 300), start_time=base + i % 300, end_time=base + i % 300 + (i % 7) / 4,
                    annotations={"k": i % 5}) for i in range(1200)]  # fmt: skip
    store = quiet_store(path)
    for i in range(0, len(docs), 100):
        store.write(batch_of(*docs[i : i + 100]))
    expected_docs = sorted(d.doc for d in store.documents([d["trace_id"] for d in docs]))
    store.close()
    conn = duckdb.connect(path)  # what schema version 1 had: no traces table, no watermark, text trace ids
    conn.execute("DROP TABLE traces")
    conn.execute("ALTER TABLE segments ADD COLUMN trace_id VARCHAR")
    conn.execute("UPDATE segments SET trace_id = printf('1-%08x-%08x%016x', trace_time, hi, trace_key::HUGEINT + 9223372036854775808)")
    conn.execute("ALTER TABLE segments DROP COLUMN hi")
    conn.execute("DELETE FROM meta WHERE key = ?", [trace_table.WATERMARK_KEY])
    conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    conn.close()

    store = DuckDBStore(DuckDBConfig(path=path, summarize_every=0, summarize_segments=128))
    try:
        queries = [TraceQuery(base, base + 400, rt, parse(e) if e else None, limit=50)
                   for rt in TimeRangeType for e in ("", "annotation.k = 3", "duration > 1")]  # fmt: skip
        expected = [live_only(store, q, monkeypatch) for q in queries]
        assert table_rows(store) == 0
        done, caught_up = store.summarize()  # one bounded cycle: part of the file
        assert 0 < done < len(docs) and not caught_up
        assert [all_pages(store, q) for q in queries] == expected
        assert store.wait_summarized(60)
        assert table_rows(store) == len({d["trace_id"] for d in docs})
        assert [all_pages(store, q) for q in queries] == expected
        assert store._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("3",)
        assert sorted(d.doc for d in store.documents([d["trace_id"] for d in docs])) == expected_docs
    finally:
        store.close()


def test_background_summarizer_back_fills_on_open(tmp_path: Path) -> None:
    path = str(tmp_path / "t.duckdb")
    store = quiet_store(path)
    docs = [segment() for _ in range(300)]
    store.write(batch_of(*docs))
    store.close()
    store = DuckDBStore(DuckDBConfig(path=path, summarize_every=0.01))
    try:
        deadline = time.monotonic() + 30
        while table_rows(store) < 300 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert table_rows(store) == 300
    finally:
        store.close()


def test_retention_prunes_and_recomputes_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    now = time.time()
    old_day, cut = now - 40 * 86400, now - 30 * 86400
    gone, split, kept = new_trace_id(now - 100), new_trace_id(now - 90), new_trace_id(now - 80)
    split_root = segment(split, start_time=now - 90, end_time=now - 89, http={"response": {"status": 500}})
    store = quiet_store()
    try:
        store.write(batch_of(segment(gone, start_time=now - 100, end_time=now - 99), received=old_day))
        store.write(batch_of(split_root, received=old_day))
        store.write(batch_of(segment(split, parent_id=split_root["id"], start_time=now - 89.5, end_time=now - 80,
                                     http={"response": {"status": 200}})))  # fmt: skip
        store.write(batch_of(segment(kept, start_time=now - 80, end_time=now - 79)))
        assert store.wait_summarized(10) and table_rows(store) == 3
        assert store.delete_before(cut) == 2
        assert table_rows(store) == 2
        query = TraceQuery(now - 200, now)
        assert [h.trace_id for h in store.find_traces(query).hits] == [kept, split]
        # The split trace lost its root: it is judged by the orphan that stays, as the live aggregate does.
        for expr in ("fault", "ok", "duration > 9", "responsetime > 9"):
            q = TraceQuery(now - 200, now, filter=parse(expr))
            assert all_pages(store, q) == live_only(store, q, monkeypatch), expr
        assert [h.trace_id for h in store.find_traces(TraceQuery(now - 200, now, filter=parse("duration > 9"))).hits] == [split]
        assert store.find_traces(TraceQuery(now - 200, now, filter=parse("fault"))).hits == []
    finally:
        store.close()


def test_chunk_ids_never_fall_below_the_watermark(tmp_path: Path) -> None:
    """Retention may delete every chunk; new chunks must still count as newer than the watermark."""
    path = str(tmp_path / "t.duckdb")
    store = quiet_store(path)
    store.write(batch_of(segment(), received=time.time() - 40 * 86400))
    store.wait_summarized(10)
    store.delete_before(time.time() - 30 * 86400)
    store.close()
    store = quiet_store(path)
    try:
        doc = segment()
        store.write(batch_of(doc))
        store.wait_summarized(10)
        assert table_rows(store) == 1
        assert [h.trace_id for h in store.find_traces(TraceQuery(time.time() - 60, time.time() + 60)).hits] == [doc["trace_id"]]
    finally:
        store.close()


@pytest.fixture
def summarized_store() -> Iterator[DuckDBStore]:
    store = quiet_store()
    yield store
    store.close()


def test_processed_count_from_the_table(summarized_store: DuckDBStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """TracesProcessedCount counts root segments: two roots in one trace count twice, orphans not at all."""
    store = summarized_store
    base = int(time.time()) - 300
    two_roots = new_trace_id(base)
    docs = [segment(two_roots, start_time=base, end_time=base + 1), segment(two_roots, start_time=base + 0.5,
            end_time=base + 1)]  # fmt: skip
    docs += [segment(new_trace_id(base + 1), parent_id=new_id(), start_time=base + 1, end_time=base + 2)]
    docs += [segment(new_trace_id(base + 2 + i), start_time=base + 2 + i, end_time=base + 3 + i) for i in range(10)]
    store.write(batch_of(*docs[:5]))
    store.wait_summarized(10)
    store.write(batch_of(*docs[5:]))
    for limit in (3, 100):
        query = TraceQuery(base, base + 60, limit=limit)
        expected = live_only(store, query, monkeypatch)
        assert all_pages(store, query) == expected
        store.wait_summarized(10)
        assert all_pages(store, query) == expected
    assert store.find_traces(TraceQuery(base, base + 60)).processed == 12


def test_a_document_sent_again_is_searched_by_its_latest_version(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a trace read shows (the latest received version) is also what filters search."""
    store = quiet_store()
    base = BASE + 5
    root = segment(new_trace_id(base), start_time=base, end_time=base + 1)
    store.write(arrow([root], received=1.0))
    store.write(arrow([{**root, "fault": True, "end_time": base + 3}], received=2.0))
    # Two versions in one batch: the one received later wins.
    other = segment(new_trace_id(base + 1), start_time=base + 1, end_time=base + 2, error=True)
    batch = SegmentBatch()
    ingest(batch, json.dumps(other).encode(), 3.0)
    ingest(batch, json.dumps({**other, "error": False}).encode(), 4.0)
    store.write(ArrowBatch.from_batch(batch))

    def ids(expression: str) -> set[str]:
        query = TraceQuery(BASE, BASE + 100, filter=parse(expression))
        return {trace_id for page in all_pages(store, query) for trace_id, _, _ in page[0]}

    for state in ("live", "fallback", "table"):
        if state == "table":
            assert store.wait_summarized(10)
        with monkeypatch.context() as m:
            if state == "fallback":
                m.setattr(reader, "LIVE_ONLY_ABOVE", -1)
            assert ids("fault") == {root["trace_id"]}, state
            assert ids("duration >= 3") == {root["trace_id"]}, state
            assert ids("error") == set(), state
            assert ids("ok") == {other["trace_id"]}, state
    summaries = QueryService(store).get_trace_summaries({"StartTime": BASE, "EndTime": BASE + 100})
    assert {s["Id"]: s["HasFault"] for s in summaries["TraceSummaries"]} == {root["trace_id"]: True,
                                                                            other["trace_id"]: False}  # fmt: skip
    store.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(arrivals())
def test_the_summarizer_stores_exactly_the_live_rows(deliveries: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> None:
    """Every column of every ``traces`` row equals ``live`` (its own, cheaper SQL must not drift)."""
    store = quiet_store()
    try:
        for docs in deliveries:
            if docs:
                store.write(arrow(docs))
            assert store.wait_summarized(60)
        columns = ", ".join(trace_table.COLUMNS)
        stored = store._db.execute(f"SELECT {columns} FROM traces ORDER BY trace_time, hi, trace_key").fetchall()
        live = store._db.execute(
            f"SELECT {columns} FROM ({trace_table.live('TRUE')}) ORDER BY trace_time, hi, trace_key"
        ).fetchall()
        assert stored == live
    finally:
        store.close()

"""One conformance suite for every store backend (``fluoro.store.api.Store``).

A backend adds itself to ``BACKENDS``; the semantics asserted here are the
contract the query service relies on.  ClickHouse runs on a private server
(the session's ``clickhouse`` fixture), a fresh database per test.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from fluoro.ingest import ingest
from fluoro.query.filters import parse
from fluoro.store import open_store
from fluoro.store.api import SegmentBatch, Store, TimeRangeType, TraceQuery
from fluoro.store.columns import ArrowBatch
from fluoro.store.duckdb import DuckDBConfig, DuckDBStore

from ..helpers_docs import new_id, new_trace_id, segment


class SummarizedDuckDB(DuckDBStore):
    """DuckDB with its per-trace table caught up after every write: searches read the table."""

    def write(self, batch: ArrowBatch) -> None:
        super().write(batch)
        assert self.wait_summarized(60)


BACKENDS: dict[str, Callable[[pytest.FixtureRequest, Path], Store]] = {
    "duckdb-memory": lambda request, tmp: open_store("memory"),
    "duckdb-summarized": lambda request, tmp: SummarizedDuckDB(DuckDBConfig(summarize_every=0)),
    "duckdb-file": lambda request, tmp: open_store(str(tmp / "traces.duckdb")),
    "clickhouse": lambda request, tmp: open_store(fresh_clickhouse_url(request)),
}


def fresh_clickhouse_url(request: pytest.FixtureRequest) -> str:
    """A new database on the session's ClickHouse server (skips when there is none)."""
    sandbox = request.getfixturevalue("clickhouse")
    return str(sandbox.url(f"fluoro_{uuid.uuid4().hex[:12]}"))


@pytest.fixture(params=sorted(BACKENDS))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    backend = BACKENDS[request.param](request, tmp_path)
    yield backend
    backend.close()


def batch_of(*docs: dict[str, Any], received: float | None = None) -> ArrowBatch:
    batch = SegmentBatch()
    for d in docs:
        ingest(batch, json.dumps(d).encode(), received if received is not None else time.time())
    return ArrowBatch.from_batch(batch)


def test_documents_round_trip_byte_for_byte(store: Store) -> None:
    docs = [segment(annotations={"i": i}, metadata={"blob": "x" * i}) for i in range(300)]
    store.write(batch_of(*docs))
    got = store.documents([d["trace_id"] for d in docs[:7]] + [new_trace_id()])
    assert sorted(g.doc for g in got) == sorted(json.dumps(d).encode() for d in docs[:7])
    assert store.documents([]) == []


def test_in_progress_replaced_in_both_orders(store: Store) -> None:
    for late_partial in (False, True):
        done = segment(new_trace_id())
        partial = {k: v for k, v in done.items() if k != "end_time"} | {"in_progress": True}
        first, second = (done, partial) if late_partial else (partial, done)
        store.write(batch_of(first))
        store.write(batch_of(second))
        assert [r.in_progress for r in store.documents([done["trace_id"]])] == [False]


def test_retention_removes_old_rows_only(store: Store) -> None:
    old, new = segment(), segment()
    store.write(batch_of(old, received=time.time() - 40 * 86400))
    store.write(batch_of(new))
    assert store.delete_before(time.time() - 30 * 86400) == 1
    assert store.documents([old["trace_id"]]) == []
    assert len(store.documents([new["trace_id"]])) == 1


def test_find_traces_pages_newest_first(store: Store) -> None:
    base = int(time.time()) - 7200
    ids = [new_trace_id(base + i) for i in range(25)]
    store.write(batch_of(*[segment(t, start_time=base + i, end_time=base + i + 1) for i, t in enumerate(ids)]))
    seen: list[str] = []
    after = None
    while True:
        page = store.find_traces(TraceQuery(base, base + 100, limit=10, after=after))
        seen += [h.trace_id for h in page.hits]
        if not page.more:
            break
        after = (page.hits[-1].sort_time, page.hits[-1].trace_id)
    assert seen == list(reversed(ids))


def test_find_traces_filters_and_range_types(store: Store) -> None:
    base = int(time.time()) - 3 * 3600
    a, b = new_trace_id(base), new_trace_id(base + 1)
    root = segment(a, start_time=base, end_time=base + 2, annotations={"team": "blue"}, user="ann",
                   http={"response": {"status": 503}})  # fmt: skip
    child = segment(a, parent_id=root["id"], start_time=base + 1, end_time=base + 900, id=new_id())
    other = segment(b, start_time=base + 1, end_time=base + 1.5, http={"response": {"status": 200}})
    store.write(batch_of(root, child, other))

    def hits(expr: str, range_type: TimeRangeType = TimeRangeType.TRACE_ID, lo: float = base, hi: float = base + 60) -> set[str]:
        return {h.trace_id for h in store.find_traces(TraceQuery(lo, hi, range_type, parse(expr))).hits}

    assert hits('annotation.team = "blue"') == {a}
    assert hits('user = "ann"') == {a}
    assert hits("fault") == {a} and hits("ok") == {b}
    assert hits("duration > 100") == {a} and hits("responsetime < 1") == {b}
    assert hits("", TimeRangeType.EVENT, base + 600, base + 700) == {a}
    assert hits("", TimeRangeType.SERVICE, base + 899, base + 901) == {a}


def test_capabilities_cover_the_simple_keywords(store: Store) -> None:
    simple = {"and", "or", "not", "annotation", "flag:ok", "flag:error", "flag:fault", "flag:throttle", "flag:partial",
              "compare:responsetime", "compare:duration", "compare:http.status", "compare:http.url", "compare:user",
              "present:http.url", "present:user"}  # fmt: skip
    assert simple <= store.capabilities().filter_nodes

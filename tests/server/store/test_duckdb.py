"""The DuckDB backend on a real file: durability across reopen, in-progress replacement, retention."""

from __future__ import annotations

import json
import time
from pathlib import Path

from fluoro.ingest import ingest
from fluoro.query.filters import parse
from fluoro.store import open_store
from fluoro.store.api import SegmentBatch, TraceQuery

from ..helpers_docs import new_trace_id, segment


def batch_of(*docs: dict, received: float | None = None) -> SegmentBatch:  # type: ignore[type-arg]
    batch = SegmentBatch()
    for d in docs:
        ingest(batch, json.dumps(d).encode(), received if received is not None else time.time())
    return batch


def test_reopen_keeps_everything(tmp_path: Path) -> None:
    path = str(tmp_path / "t.duckdb")
    docs = [segment(annotations={"i": i}) for i in range(500)]
    store = open_store(path)
    for i in range(0, 500, 100):
        store.write(batch_of(*docs[i : i + 100]))
    store.close()
    store = open_store(path)
    got = store.documents([d["trace_id"] for d in docs[:5]])
    assert sorted(json.loads(g.doc)["id"] for g in got) == sorted(d["id"] for d in docs[:5])
    page = store.find_traces(TraceQuery(time.time() - 60, time.time() + 60, filter=parse("annotation.i >= 498")))
    assert {h.trace_id for h in page.hits} == {docs[498]["trace_id"], docs[499]["trace_id"]}
    store.write(batch_of(segment()))  # chunk ids continue after reopen
    assert len(store.documents([d["trace_id"] for d in docs[:5]])) == 5
    store.close()


def test_in_progress_replaced_in_both_orders() -> None:
    store = open_store("memory")
    for late_partial in (False, True):
        done = segment(new_trace_id())
        partial = {k: v for k, v in done.items() if k != "end_time"} | {"in_progress": True}
        first, second = (done, partial) if late_partial else (partial, done)
        store.write(batch_of(first))
        store.write(batch_of(second))
        rows = store.documents([done["trace_id"]])
        assert [r.in_progress for r in rows] == [False]
    store.close()


def test_retention_removes_old_rows_only() -> None:
    store = open_store("memory")
    old, new = segment(), segment()
    store.write(batch_of(old, received=time.time() - 40 * 86400))
    store.write(batch_of(new))
    assert store.delete_before(time.time() - 30 * 86400) == 1
    assert store.documents([old["trace_id"]]) == []
    assert len(store.documents([new["trace_id"]])) == 1
    store.close()

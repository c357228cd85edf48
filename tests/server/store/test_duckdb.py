"""DuckDB-specific behaviour: a file survives close and reopen, and keeps appending."""

from __future__ import annotations

import json
import time
from pathlib import Path

from fluoro.query.filters import parse
from fluoro.store import open_store
from fluoro.store.api import TraceQuery

from ..helpers_docs import segment
from .test_conformance import batch_of


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


def test_row_groups_have_the_configured_size_after_a_reopen(tmp_path: Path) -> None:
    """DuckDB keeps no row-group size in the file: every open attaches it with the configured one."""
    from fluoro.store.duckdb import DuckDBConfig, DuckDBStore

    path = str(tmp_path / "t.duckdb")
    docs = [segment() for _ in range(10_000)]
    for half in (docs[:5000], docs[5000:]):  # written, closed, reopened, written again
        store = DuckDBStore(DuckDBConfig(path=path, row_group_size=2048, summarize_every=0))
        store.write(batch_of(*half))
        store.close()
    store = DuckDBStore(DuckDBConfig(path=path, row_group_size=2048, summarize_every=0))
    try:
        sizes = store._db.execute(
            "SELECT row_group_id, max(start + count) - min(start) FROM pragma_storage_info('segments')"
            " WHERE column_name = 'trace_key' GROUP BY row_group_id ORDER BY row_group_id"
        ).fetchall()
        assert len(sizes) >= 10_000 // 2048 and all(n <= 2048 for _, n in sizes)
        assert len(store.documents([d["trace_id"] for d in docs])) == 10_000
    finally:
        store.close()

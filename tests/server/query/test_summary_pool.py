"""A page of summaries computed partly in a helper process equals the page computed here."""

from __future__ import annotations

import json
import os
import random
import signal
from collections import defaultdict
from typing import Any, Iterator

import pytest

from fluoro.ingest import ingest
from fluoro.query import summary_pool
from fluoro.query.service import QueryService
from fluoro.query.summary_pool import SummaryPool, summary_of
from fluoro.store import open_store
from fluoro.store.api import SegmentBatch, StoredDocument
from fluoro.store.columns import ArrowBatch
from fluoro.store.duckdb import DuckDBStore

from ..graph_docs import fixture_traces, lambda_trace

T0 = 1_700_000_000.0


@pytest.fixture
def store() -> Iterator[DuckDBStore]:
    """Lambda traces with every outcome (root causes, flags) and the published fixtures' traces."""
    rng = random.Random(5)
    docs: list[dict[str, Any]] = []
    for i in range(30):
        docs += lambda_trace(rng, T0 + i, [200, 404, 429, 500, 502][i % 5])
    for name in ("devguide-scorekeep-lambda-sns.json", "osp7-apigw-lambda-dynamodb-and-lambda-invoke.json"):
        for _, fixture_docs in fixture_traces(name):
            docs += fixture_docs
    batch = SegmentBatch()
    for doc in docs:
        ingest(batch, json.dumps(doc).encode(), T0)
    opened = open_store("memory")
    assert isinstance(opened, DuckDBStore)
    opened.write(ArrowBatch.from_batch(batch))
    yield opened
    opened.close()


def _items(store: DuckDBStore) -> list[tuple[str, list[StoredDocument], float | None]]:
    ids = sorted({h.trace_id for h in store.find_traces(_all_traces()).hits})
    by_trace: dict[str, list[StoredDocument]] = defaultdict(list)
    for stored in store.documents(ids):
        by_trace[stored.trace_id].append(stored)
    return [(t, by_trace[t], T0 + i if i % 2 else None) for i, t in enumerate(ids)]


def _all_traces() -> Any:
    from fluoro.store.api import TraceQuery

    return TraceQuery(0, 2**32, limit=1000)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_split_page_equals_the_page_computed_here_in_order(store: DuckDBStore, workers: int) -> None:
    items = _items(store)
    assert len(items) > summary_pool.MIN_SPLIT
    pool = SummaryPool(workers)
    try:
        assert pool.summaries(items) == [summary_of(*item) for item in items]
        assert pool._helpers is not None  # the helpers did take part
    finally:
        pool.close()


def test_a_small_page_starts_no_helper(store: DuckDBStore) -> None:
    items = _items(store)[: summary_pool.MIN_SPLIT - 1]
    pool = SummaryPool(1)
    try:
        assert pool.summaries(items) == [summary_of(*item) for item in items]
        assert pool._helpers is None
    finally:
        pool.close()


def test_a_helper_that_dies_costs_only_time(store: DuckDBStore) -> None:
    items = _items(store)
    pool = SummaryPool(1)
    try:
        assert pool.summaries(items) == [summary_of(*item) for item in items]
        assert pool._helpers is not None
        for helper in pool._helpers:
            assert helper.process.pid is not None
            os.kill(helper.process.pid, signal.SIGKILL)
            helper.process.join(5)
        # Its share is computed here; pages stay here a while, then get a new helper.
        assert pool.summaries(items) == [summary_of(*item) for item in items]
        assert pool._helpers is None
        assert pool.summaries(items) == [summary_of(*item) for item in items]
        assert pool._helpers is None
        pool._retry_at = 0.0  # the pause is over
        assert pool.summaries(items) == [summary_of(*item) for item in items]
        assert pool._helpers is not None
    finally:
        pool.close()


def test_a_closed_pool_computes_everything_here(store: DuckDBStore) -> None:
    items = _items(store)
    pool = SummaryPool(1)
    pool.close()
    assert pool.summaries(items) == [summary_of(*item) for item in items]
    assert pool._helpers is None


def test_get_trace_summaries_is_the_same_with_a_pool(store: DuckDBStore) -> None:
    body = {"StartTime": T0 - 60, "EndTime": T0 + 60}
    plain = QueryService(store, page_size=20).get_trace_summaries(body)
    pool = SummaryPool(1)
    try:
        pooled = QueryService(store, page_size=20, summary_pool=pool).get_trace_summaries(body)
    finally:
        pool.close()
    assert len(plain["TraceSummaries"]) == 20 and "NextToken" in plain
    assert pooled == plain


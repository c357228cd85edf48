"""GetTraceSummaries with filters the store cannot evaluate: exact paging under a scan budget."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from fluoro.ingest import ingest
from fluoro.query.service import InvalidQuery, QueryService
from fluoro.store import open_store
from fluoro.store.api import SegmentBatch
from fluoro.store.columns import ArrowBatch

from ..helpers_docs import new_id, new_trace_id


def _store_with(n: int, base: int) -> tuple[Any, set[str], set[str]]:
    store = open_store("memory")
    batch = SegmentBatch()
    faulty, slow = set(), set()
    for i in range(n):
        trace_id = new_trace_id(base + i)
        call = {"id": new_id(), "name": "x", "namespace": "remote", "start_time": base + i + 0.1,
                "end_time": base + i + 0.2, "fault": i % 3 == 0}  # fmt: skip
        root = {"id": new_id(), "trace_id": trace_id, "name": "front", "start_time": base + i,
                "end_time": base + i + (2 if i % 4 == 0 else 0.5), "subsegments": [call]}  # fmt: skip
        if i % 3 == 0:
            faulty.add(trace_id)
        if i % 4 == 0:
            slow.add(trace_id)
        ingest(batch, json.dumps(root).encode(), time.time())
    store.write(ArrowBatch.from_batch(batch))
    return store, faulty, slow


@pytest.mark.parametrize("page_size, budget", [(4, 5), (1, 1), (100, 2000), (3, 1000)])
def test_pages_are_exact_however_small_the_budget(page_size: int, budget: int) -> None:
    base = int(time.time()) - 7200
    store, faulty, slow = _store_with(40, base)
    try:
        service = QueryService(store, page_size=page_size, scan_budget=budget)
        for expression, expected in (('service("x") { fault }', faulty),
                                     ('service("x") { fault } and responsetime > 1', faulty & slow),
                                     ('!edge("front", "x") { fault } or responsetime > 1',
                                      (_all(store, base) - faulty) | slow)):  # fmt: skip
            body: dict[str, Any] = {"StartTime": base - 1, "EndTime": base + 100, "FilterExpression": expression}
            seen: list[str] = []
            short_pages_with_more = 0
            while True:
                page = service.get_trace_summaries(body)
                ids = [s["Id"] for s in page["TraceSummaries"]]
                assert len(ids) <= page_size
                seen.extend(ids)
                if "NextToken" not in page:
                    break
                short_pages_with_more += len(ids) < page_size
                body["NextToken"] = page["NextToken"]
            assert len(seen) == len(set(seen)) and set(seen) == expected, expression
            assert seen == sorted(seen, key=lambda t: int(t[2:10], 16), reverse=True)  # newest first
            if budget < 3:
                assert short_pages_with_more > 0
    finally:
        store.close()


def _all(store: Any, base: int) -> set[str]:
    return {s["Id"] for s in QueryService(store, page_size=1000).get_trace_summaries(
        {"StartTime": base - 1, "EndTime": base + 100})["TraceSummaries"]}  # fmt: skip


def test_groups_expand_through_the_resolver() -> None:
    base = int(time.time()) - 7200
    store, faulty, slow = _store_with(12, base)
    try:
        groups = {("name", "slow"): "responsetime > 1", ("name", "bad"): 'group.name = "slow" and service() { fault }',
                  ("name", "loop"): 'group.name = "loop"'}  # fmt: skip
        service = QueryService(store, groups=lambda kind, value: groups.get((kind, value)))
        body = {"StartTime": base - 1, "EndTime": base + 100}
        got = {s["Id"] for s in service.get_trace_summaries({**body, "FilterExpression": 'group.name = "bad"'})["TraceSummaries"]}
        assert got == faulty & slow
        with pytest.raises(InvalidQuery, match="Invalid filter expression: group 'loop' refers to itself"):
            service.get_trace_summaries({**body, "FilterExpression": 'group.name = "loop"'})
    finally:
        store.close()


@pytest.mark.parametrize("range_type", ["Event", "Service"])
def test_other_time_range_types_with_python_evaluated_filters(range_type: str) -> None:
    base = int(time.time()) - 7200
    store, faulty, slow = _store_with(20, base)
    try:
        service = QueryService(store, page_size=3, scan_budget=4)
        body: dict[str, Any] = {"StartTime": base - 1, "EndTime": base + 100, "TimeRangeType": range_type,
                                "FilterExpression": 'service("x") { fault } and responsetime > 1'}  # fmt: skip
        seen: list[str] = []
        while True:
            page = service.get_trace_summaries(body)
            seen.extend(s["Id"] for s in page["TraceSummaries"])
            assert all("MatchedEventTime" in s for s in page["TraceSummaries"])
            if "NextToken" not in page:
                break
            body["NextToken"] = page["NextToken"]
        assert len(seen) == len(set(seen)) and set(seen) == faulty & slow
    finally:
        store.close()

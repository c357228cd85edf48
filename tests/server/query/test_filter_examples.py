"""Every documented filter example selects exactly the traces it should, through the query service on DuckDB."""

from __future__ import annotations

import json
import time
from typing import Any, Iterator

import pytest

from fluoro.ingest import ingest
from fluoro.query.service import QueryService
from fluoro.store import open_store
from fluoro.store.api import SegmentBatch, Store
from fluoro.store.columns import ArrowBatch

from .filter_scenarios import EXPECTED, EXTRA, build, resolve_group

BASE = int(time.time()) // 60 * 60 - 7200


@pytest.fixture(scope="module")
def scenario() -> Iterator[tuple[Store, dict[str, str]]]:
    store = open_store("memory")
    ids, docs = build(BASE)
    batch = SegmentBatch()
    for doc in docs:
        ingest(batch, json.dumps(doc).encode(), time.time())
    store.write(ArrowBatch.from_batch(batch))
    yield store, ids
    store.close()


def selected(store: Store, ids: dict[str, str], expression: str, page_size: int = 100) -> set[str]:
    service = QueryService(store, page_size=page_size, groups=resolve_group)
    names = {v: k for k, v in ids.items()}
    out: set[str] = set()
    body: dict[str, Any] = {"StartTime": BASE - 10, "EndTime": BASE + 300, "FilterExpression": expression}
    while True:
        page = service.get_trace_summaries(body)
        out.update(names[s["Id"]] for s in page["TraceSummaries"])
        if "NextToken" not in page:
            return out
        body["NextToken"] = page["NextToken"]


@pytest.mark.parametrize("expression, expected", EXPECTED, ids=[e for e, _ in EXPECTED])
def test_documented_example_selects(scenario: tuple[Store, dict[str, str]], expression: str, expected: set[str]) -> None:
    store, ids = scenario
    assert selected(store, ids, expression) == expected


@pytest.mark.parametrize("expression, expected", EXTRA, ids=[e for e, _ in EXTRA])
def test_more_expressions_select(scenario: tuple[Store, dict[str, str]], expression: str, expected: set[str]) -> None:
    store, ids = scenario
    assert selected(store, ids, expression) == expected


def test_small_pages_with_python_evaluated_filters_lose_nothing(scenario: tuple[Store, dict[str, str]]) -> None:
    store, ids = scenario
    assert selected(store, ids, "service() { fault } OR ok", page_size=1) == set("ABCDEFGHJKLW")

"""Every documented filter example selects exactly the traces it should, through the query service on DuckDB."""

from __future__ import annotations

import json
import time
from typing import Any, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fluoro.ingest import ingest
from fluoro.query.assemble import assemble
from fluoro.query.filters import parse
from fluoro.query.filters.evaluate import matches
from fluoro.query.filters.search import matching_traces
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


def _body(leaves: list[str]) -> st.SearchStrategy[str]:
    return st.recursive(
        st.sampled_from(leaves),
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from([" and ", " or ", " && ", " || ", " "]), inner).map("".join),
            inner.map(lambda x: f"!({x})"),
            inner.map(lambda x: f"({x})"),
        ),
        max_leaves=4,
    )


_TRACE_LEAVES = ["ok", "fault", "error", "partial", "inferred", "responsetime > 1", "duration <= 2",
                 'http.url CONTAINS "api"', "http.status = 200", 'user = "alice"', "annotation.age",
                 'annotation.account = "12345"', 'group.name = "high_response_time"']  # fmt: skip
_ENTITY_LEAVES = ["ok", "fault", "error", "throttle", "responsetime > 0.5", "http.status >= 400", "http.url"]
_SERVICE_LEAVES = [*_ENTITY_LEAVES, "root", "inferred", 'name BEGINSWITH "a"', 'type = "AWS::Lambda::Function"',
                   "annotation.age > 1"]  # fmt: skip
_RC_LEAVES = ["first", "last", "index > 0", 'name CONTAINS "e"']
_SELECTORS = ['""', '"api.example.com"', '"backend.example.com"', '"data-plane"', 'id(type: "AWS::Lambda")',
              'id(name: "random-name")']  # fmt: skip
_complex = st.one_of(
    st.builds("service({}) {{ {} }}".format, st.sampled_from(_SELECTORS), _body(_SERVICE_LEAVES)),
    st.sampled_from(_SELECTORS).map("service({})".format),
    st.builds("edge({}, {}) {{ {} }}".format, st.sampled_from(_SELECTORS), st.sampled_from(_SELECTORS),
              _body(_ENTITY_LEAVES)),  # fmt: skip
    st.builds("rootcause.{}.{} {{ {} }}".format, st.sampled_from(["fault", "error"]),
              st.sampled_from(["service", "entity", "exception"]), _body(_RC_LEAVES)),  # fmt: skip
    st.builds("rootcause.responsetime.entity {{ {} and coverage > {} }}".format, _body(_RC_LEAVES),
              st.sampled_from(["0", "0.5", "0.9"])),  # fmt: skip
)
_expressions = _body(_TRACE_LEAVES) | st.tuples(_body(_TRACE_LEAVES), _complex).map(" and ".join) | _complex


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_expressions)
def test_store_plus_python_equals_python_alone(scenario: tuple[Store, dict[str, str]], expression: str) -> None:
    """However an expression splits between SQL and Python, paging selects what the evaluator alone selects."""
    store, ids = scenario
    node = parse(expression, resolve_group)
    names = {v: k for k, v in ids.items()}
    stored = store.documents(list(ids.values()))
    expected = {names[t] for t in ids.values()
                if matches(node, assemble(t, [s for s in stored if s.trace_id == t]))}  # fmt: skip
    assert selected(store, ids, expression, page_size=3) == expected


@pytest.mark.parametrize("expression, expected", EXPECTED[:14] + EXTRA[:6], ids=[e for e, _ in EXPECTED[:14] + EXTRA[:6]])
def test_matching_traces_yields_every_selected_trace(
    scenario: tuple[Store, dict[str, str]], expression: str, expected: set[str]
) -> None:
    store, ids = scenario
    names = {v: k for k, v in ids.items()}
    node = parse(expression, resolve_group)
    found = [names[hit.trace_id] for hit, _ in matching_traces(store, BASE - 10, BASE + 300, node, chunk=2)]
    assert len(found) == len(set(found)) and set(found) == expected
    limited = list(matching_traces(store, BASE - 10, BASE + 300, node, max_traces=1, chunk=2))
    assert len(limited) == min(1, len(expected))

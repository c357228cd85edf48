"""Narrowing ``service()``/``edge()``/``rootcause.*`` candidates by the rollup's node facts is sound.

The property: over random traces (services with origins and accounts, child
segments, independently sent and orphaned subsegments, inferred nodes,
flags and HTTP statuses), part of them rolled up and part written or changed
after the rollup, every random expression selects exactly the traces the
Python evaluator selects, with narrowing and without.  A deliberately
unsound narrowing (polarity ignored under NOT) is shown to be caught.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Iterator

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import fluoro.query.filters.narrow as narrow_module
from fluoro.ingest import ingest
from fluoro.query.assemble import assemble, entity_flags, has_flag
from fluoro.query.filters import parse
from fluoro.query.filters.ast import (
    And,
    Annotation,
    Compare,
    Const,
    Edge,
    Flag,
    Node,
    Or,
    Present,
    RootCause,
    Selector,
    Service,
)
from fluoro.query.filters.evaluate import matches
from fluoro.query.filters.narrow import narrowing
from fluoro.query.filters.search import matching_traces
from fluoro.query.rollup import GraphRollup
from fluoro.query.service import QueryService
from fluoro.store import open_store
from fluoro.store.api import Capabilities, SegmentBatch, TimeRangeType, TraceQuery
from fluoro.store.columns import ArrowBatch
from fluoro.store.duckdb.store import DuckDBStore

from .test_filter_pushdown_property import boolean_trees

BASE = 1_700_000_000
NAMES = ["a", "b", "pay"]
ORIGINS = [None, "AWS::EC2::Instance"]
ATTRIBUTE_VALUES = ["arn:aws:x:1", "i-1", "us-east-1a"]


def _hex(n: int, width: int) -> str:
    return format(n, f"0{width}x")


@st.composite
def flags(draw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for flag in ("fault", "error", "throttle"):
        if draw(st.integers(0, 3)) == 0:
            out[flag] = True
    status = draw(st.sampled_from([None, None, 200, 404, 429, 503]))
    if status is not None:
        out["http"] = {"response": {"status": status}}
    return out


@st.composite
def calls(draw: Any, index: int, start: float) -> list[dict[str, Any]]:
    """Subsegments: plain, or remote/aws calls (inferred nodes unless a callee segment answers)."""
    out = []
    for j in range(draw(st.integers(0, 2))):
        sub: dict[str, Any] = {"id": _hex(index * 4096 + draw(st.integers(0, 4095)), 16), "name": "call",
                               "start_time": start + 0.01 * j, "end_time": start + draw(st.sampled_from([0.1, 2.0]))}  # fmt: skip
        kind = draw(st.sampled_from(["plain", "remote", "aws"]))
        if kind == "remote":
            sub.update(namespace="remote", name=draw(st.sampled_from(NAMES)))
        elif kind == "aws":
            sub.update(namespace="aws", name="DynamoDB", aws={"table_name": draw(st.sampled_from(["pay", "t"]))})
        sub.update(draw(flags()))
        out.append(sub)
    return out


@st.composite
def trace_docs(draw: Any, index: int) -> list[dict[str, Any]]:
    trace_id = f"1-{_hex(BASE + index, 8)}-{_hex(index, 24)}"
    docs: list[dict[str, Any]] = []
    entity_ids: list[str] = []
    for i in range(draw(st.integers(1, 4))):
        start = BASE + index + 0.1 * i
        doc: dict[str, Any] = {"id": _hex(index * 4096 + 3000 + i, 16), "trace_id": trace_id,
                               "name": draw(st.sampled_from(NAMES)), "start_time": start}  # fmt: skip
        if draw(st.integers(0, 5)) == 0:
            doc["in_progress"] = True
        else:
            doc["end_time"] = start + draw(st.sampled_from([0.5, 1.0, 3.0]))
        origin = draw(st.sampled_from(ORIGINS))
        if origin:
            doc["origin"] = origin
        if draw(st.integers(0, 4)) == 0:
            doc["aws"] = {"account_id": "123456789012"}
        # Trace-level attributes (resource.arn, instance.id, availabilityzone), sometimes.
        if draw(st.integers(0, 2)) == 0:
            doc["resource_arn"] = draw(st.sampled_from(ATTRIBUTE_VALUES))
        if draw(st.integers(0, 2)) == 0:
            block = draw(st.sampled_from(["ec2", "ecs"]))
            doc.setdefault("aws", {})[block] = {
                "instance_id": draw(st.sampled_from(ATTRIBUTE_VALUES)),
                "availability_zone": draw(st.sampled_from(ATTRIBUTE_VALUES)),
            }
        kind = draw(st.sampled_from(["child", "sub", "orphan"]) if entity_ids else st.just("root"))
        if kind in ("child", "sub"):
            doc["parent_id"] = draw(st.sampled_from(entity_ids))
        elif kind == "orphan":
            doc["parent_id"] = "f" * 16
            doc["type"] = "subsegment"
        if kind == "sub":
            doc["type"] = "subsegment"
        doc.update(draw(flags()))
        subs = draw(calls(index * 8 + i, start))
        if subs:
            doc["subsegments"] = subs
        entity_ids.append(doc["id"])
        entity_ids.extend(s["id"] for s in subs)
        docs.append(doc)
    return docs


_selector = st.builds(
    Selector,
    st.sampled_from([None, *NAMES, "t"]),
    st.sampled_from([None, None, "AWS::EC2::Instance", "remote", "AWS::DynamoDB::Table"]),
    st.sampled_from([None, None, None, "123456789012"]),
)
_string_op = st.sampled_from(["=", "!=", "contains", "beginswith", "endswith"])
_flag = st.sampled_from(["ok", "fault", "error", "throttle", "partial", "inferred"]).map(Flag)
_entity_leaf = st.one_of(
    _flag,
    st.builds(Compare, st.just("responsetime"), st.sampled_from([">", "<"]), st.sampled_from([1.0])),
    st.builds(Compare, st.just("http.status"), st.sampled_from(["=", ">="]), st.sampled_from([429.0, 500.0])),
    st.builds(Present, st.just("http.url")),
    st.booleans().map(Const),
)
_service_leaf = st.one_of(
    _entity_leaf,
    st.just(Flag("root")),
    st.builds(Compare, st.sampled_from(["name", "type"]), _string_op, st.sampled_from(["a", "pay", "", "AWS"])),
    st.builds(Annotation, st.just("k")),
)
_edge_leaf = st.one_of(
    _entity_leaf, st.builds(Compare, st.just("name"), _string_op, st.sampled_from(["a", "pay", "t"]))
)
_cause_leaf = st.one_of(
    st.sampled_from(["first", "last", "remote", "inferred"]).map(Flag),
    st.builds(Compare, st.sampled_from(["name", "type", "message"]), _string_op,
              st.sampled_from(["a", "pay", "call", "AWS::EC2::Instance"])),
    st.builds(Compare, st.sampled_from(["index", "coverage"]), st.sampled_from(["=", ">", "<"]),
              st.sampled_from([0.0, 0.5, 1.0])),
    st.builds(Present, st.sampled_from(["name", "type"])),
)  # fmt: skip


def _tree(leaf: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    return boolean_trees(leaf, max_leaves=4)


_graph_leaf = st.one_of(
    st.builds(Service, _selector, st.one_of(st.none(), _tree(_service_leaf))),
    st.builds(Edge, _selector, _selector, st.one_of(st.none(), _tree(_edge_leaf))),
    st.builds(RootCause, st.sampled_from(["fault", "error", "responsetime"]),
              st.sampled_from(["service", "entity", "exception"]), _tree(_cause_leaf)),
)
_attribute = st.sampled_from(["resource.arn", "instance.id", "availabilityzone"])
_trace_leaf = st.one_of(
    _graph_leaf,
    st.builds(Compare, _attribute, _string_op, st.sampled_from([*ATTRIBUTE_VALUES, "1", "arn:"])),
    st.builds(Present, _attribute),
    st.sampled_from(["fault", "error", "ok", "inferred"]).map(Flag),
    st.builds(Compare, st.just("responsetime"), st.just(">"), st.just(1.0)),
    st.booleans().map(Const),
)  # fmt: skip
# Conjunctions and disjunctions of service()/edge()/rootcause terms are what narrowing
# combines (and what a page bound must not over-count): draw them often.
expressions = st.one_of(
    _tree(_trace_leaf),
    st.lists(_graph_leaf, min_size=2, max_size=3).map(lambda xs: And(tuple(xs))),
    st.lists(_graph_leaf, min_size=2, max_size=3).map(lambda xs: Or(tuple(xs))),
)


class Unnarrowed:
    """The same store, claiming no narrowing: the exact evaluation alone."""

    def __init__(self, store: DuckDBStore) -> None:
        self.store = store

    def capabilities(self) -> Capabilities:
        return dataclasses.replace(self.store.capabilities(), narrows=False)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def write(store: DuckDBStore, docs: list[dict[str, Any]], received: float = 1.0) -> None:
    """Later versions of a document must be received later to replace it."""
    batch = SegmentBatch()
    for doc in docs:
        ingest(batch, json.dumps(doc).encode(), received)
    store.write(ArrowBatch.from_batch(batch))


def _later(docs: list[dict[str, Any]], n: int) -> Iterator[dict[str, Any]]:
    """A change to a rolled-up trace: a faulted callee and an independently sent remote call.

    (New documents only: a new version of the root would exercise a different, trace-level
    question, how the store's SQL picks among versions.)
    """
    root = docs[0]
    yield {"id": _hex(n, 16), "trace_id": root["trace_id"], "name": "pay", "parent_id": root["id"],
           "start_time": root["start_time"] + 0.2, "end_time": root["start_time"] + 0.4, "fault": True}  # fmt: skip
    yield {"id": _hex(n + 1, 16), "trace_id": root["trace_id"], "type": "subsegment", "parent_id": root["id"],
           "name": "b", "namespace": "remote", "start_time": root["start_time"] + 0.1,
           "end_time": root["start_time"] + 0.3, "error": True}  # fmt: skip


def check(data: Any, expressions: st.SearchStrategy[Node] = expressions) -> None:
    n = data.draw(st.integers(1, 10), label="traces")
    traces = [data.draw(trace_docs(i), label=f"trace {i}") for i in range(n)]
    rolled = data.draw(st.integers(0, n), label="traces written before the rollup")
    changed = data.draw(st.sets(st.integers(0, max(rolled - 1, 0)), max_size=2) if rolled else st.just(set()))
    roll_again = data.draw(st.booleans(), label="rollup after the changes")
    exprs = data.draw(st.lists(expressions, min_size=1, max_size=5), label="expressions")
    chunk = data.draw(st.sampled_from([1, 2, 3, 1000]), label="candidates per store query")
    store = open_store("memory")
    assert isinstance(store, DuckDBStore)
    try:
        for docs in traces[:rolled]:
            write(store, docs)
        GraphRollup(store).run_once()
        for docs in traces[rolled:]:
            write(store, docs)
        for i in sorted(changed):
            write(store, list(_later(traces[i], 0xEEEE00 + 2 * i)))
        if roll_again:
            GraphRollup(store).run_once()
        if data.draw(st.booleans(), label="trace table filled"):
            # Searches then read the per-trace table; otherwise they aggregate live.
            assert store.wait_summarized(10)
        trace_ids = sorted({d["trace_id"] for docs in traces for d in docs})
        stored = store.documents(trace_ids)
        assembled = {t: assemble(t, [s for s in stored if s.trace_id == t]) for t in trace_ids}
        for expr in exprs:
            truth = {t for t, trace in assembled.items() if matches(expr, trace)}
            narrowed = {h.trace_id for h, _ in matching_traces(store, BASE, BASE + 100, expr, chunk=chunk)}
            assert narrowed == truth, (expr, narrowing(expr))
            for range_type in (TimeRangeType.EVENT, TimeRangeType.SERVICE):
                exact = {h.trace_id for h, _ in matching_traces(Unnarrowed(store), BASE, BASE + 100, expr, range_type)}  # type: ignore[arg-type]
                assert {h.trace_id for h, _ in matching_traces(store, BASE, BASE + 100, expr, range_type)} == exact
    finally:
        store.close()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_narrowed_search_selects_exactly_what_the_evaluator_selects(data: Any) -> None:
    check(data)


_attribute_leaf = st.one_of(
    st.builds(Compare, _attribute, _string_op, st.sampled_from(ATTRIBUTE_VALUES)),
    st.builds(Present, _attribute),
    st.just(Flag("inferred")),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_attribute_narrowing_selects_exactly_what_the_evaluator_selects(data: Any) -> None:
    check(data, _tree(_attribute_leaf))


def test_the_property_catches_a_narrowing_that_ignores_negation(monkeypatch: pytest.MonkeyPatch) -> None:
    """The property can fail: narrowing ``!service(...)`` like ``service(...)`` drops matches."""
    sound = narrow_module._trace_leaf
    monkeypatch.setattr(narrow_module, "_trace_leaf", lambda node, positive: sound(node, True))

    @settings(max_examples=300, deadline=None, database=None, phases=[Phase.generate], report_multiple_bugs=False,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
    @given(st.data())
    def unsound(data: Any) -> None:
        check(data)

    with pytest.raises(AssertionError):
        unsound()


# -- the rollup's watermark and replacement -------------------------------------------------


def _trace(index: int, name: str, fault: bool) -> list[dict[str, Any]]:
    trace_id = f"1-{_hex(BASE + index, 8)}-{_hex(index, 24)}"
    root = {"id": _hex(index * 16 + 1, 16), "trace_id": trace_id, "name": "front", "start_time": BASE + index,
            "end_time": BASE + index + 1}  # fmt: skip
    callee = {"id": _hex(index * 16 + 2, 16), "trace_id": trace_id, "name": name, "parent_id": root["id"],
              "start_time": BASE + index + 0.1, "end_time": BASE + index + 0.5, "fault": fault}  # fmt: skip
    return [root, callee]


def _candidates(store: DuckDBStore, expression: str) -> set[str]:
    """What the store hands the evaluator for ``expression``: the narrowing alone."""
    node = narrowing(parse(expression))
    page = store.find_traces(TraceQuery(BASE, BASE + 100, narrow=node, limit=1000))
    return {h.trace_id for h in page.hits}


def _found(store: DuckDBStore, expression: str) -> set[str]:
    body = {"StartTime": BASE, "EndTime": BASE + 100, "FilterExpression": expression}
    return {s["Id"] for s in QueryService(store).get_trace_summaries(body)["TraceSummaries"]}


def _id(index: int) -> str:
    return f"1-{_hex(BASE + index, 8)}-{_hex(index, 24)}"


def test_narrowing_drops_traces_whose_facts_rule_them_out() -> None:
    store = open_store("memory")
    assert isinstance(store, DuckDBStore)
    try:
        write(store, _trace(1, "pay", True) + _trace(2, "pay", False) + _trace(3, "ledger", True))
        GraphRollup(store).run_once()
        assert _candidates(store, 'service("pay") { fault }') == {_id(1)}
        assert _candidates(store, 'service() { fault }') == {_id(1), _id(3)}
        assert _candidates(store, 'edge("front", "ledger")') == {_id(3)}
        assert _candidates(store, 'rootcause.fault.service { name = "pay" }') == {_id(1)}
        # Negated service() narrows nothing: every trace stays a candidate.
        assert _candidates(store, '!service("pay") { fault }') == {_id(1), _id(2), _id(3)}
        assert _found(store, '!service("pay") { fault }') == {_id(2), _id(3)}
    finally:
        store.close()


def test_trace_attributes_narrow_by_their_facts() -> None:
    """resource.arn / instance.id / availabilityzone / inferred at trace level: only traces
    whose facts hold a matching value are assembled (a rare value no longer scans the window)."""
    store = open_store("memory")
    assert isinstance(store, DuckDBStore)
    try:
        one, two, three = _trace(1, "pay", False), _trace(2, "pay", False), _trace(3, "pay", False)
        one[0]["resource_arn"] = "arn:aws:lambda:us-east-1:1:function:a"
        two[1]["aws"] = {"ec2": {"instance_id": "i-2", "availability_zone": "us-east-1b"}}
        three[0]["subsegments"] = [{"id": _hex(999, 16), "name": "DynamoDB", "namespace": "aws",
                                    "start_time": BASE + 3.1, "end_time": BASE + 3.2}]  # fmt: skip
        write(store, one + two + three)
        GraphRollup(store).run_once()
        assert _candidates(store, 'resource.arn = "arn:aws:lambda:us-east-1:1:function:a"') == {_id(1)}
        assert _candidates(store, 'resource.arn BEGINSWITH "arn:aws:s3"') == set()
        assert _candidates(store, 'instance.id = "i-2" AND availabilityzone ENDSWITH "1b"') == {_id(2)}
        assert _candidates(store, "resource.arn OR instance.id") == {_id(1), _id(2)}
        assert _candidates(store, 'availabilityzone != "us-east-1a"') == {_id(2)}
        assert _candidates(store, "inferred") == {_id(3)}
        # Negated: attribute facts are complete, so a trace that has the value is out.
        assert _candidates(store, "!inferred") == {_id(1), _id(2)}
        assert _candidates(store, '!resource.arn AND NOT instance.id = "i-2"') == {_id(3)}
        assert _found(store, "!inferred") == {_id(1), _id(2)}
        # A trace whose facts became unknown stays a candidate even if an old fact says otherwise.
        store.graph_replace({_id(3): []}, store.graph_cursor())
        store._db.execute("INSERT INTO trace_nodes (trace_key, trace_time, kind, name, type, fault, error, throttle, ok)"
                          " SELECT trace_key, trace_time, -1, '', 'inferred', false, false, false, false"
                          " FROM trace_nodes WHERE kind = 2")  # fmt: skip
        assert _candidates(store, "!inferred") == {_id(1), _id(2), _id(3)}
        assert _found(store, 'instance.id = "i-2"') == {_id(2)}
        assert _found(store, "inferred") == {_id(3)}
    finally:
        store.close()


def test_traces_written_after_the_rollup_stay_candidates_until_rolled_up() -> None:
    store = open_store("memory")
    assert isinstance(store, DuckDBStore)
    try:
        write(store, _trace(1, "pay", True) + _trace(2, "pay", False))
        GraphRollup(store).run_once()
        write(store, _trace(3, "pay", True))  # never rolled up yet
        assert _candidates(store, 'service("pay") { fault }') == {_id(1), _id(3)}
        assert _found(store, 'service("pay") { fault }') == {_id(1), _id(3)}
        GraphRollup(store).run_once()
        assert _candidates(store, 'service("pay") { fault }') == {_id(1), _id(3)}
    finally:
        store.close()


def test_a_trace_changed_after_its_rollup_is_found_then_narrowed_by_its_new_facts() -> None:
    store = open_store("memory")
    assert isinstance(store, DuckDBStore)
    try:
        first = _trace(1, "pay", False)
        write(store, first + _trace(2, "pay", False))
        GraphRollup(store).run_once()
        assert _candidates(store, 'service("pay") { fault }') == set()
        callee = dict(first[1], fault=True, end_time=first[1]["end_time"] + 0.1)  # a later, faulted version
        write(store, [callee], received=2.0)
        assert _found(store, 'service("pay") { fault }') == {_id(1)}  # stale facts, but written since
        GraphRollup(store).run_once()
        assert _candidates(store, 'service("pay") { fault }') == {_id(1)}
        rows = store._db.execute(
            "SELECT kind, name, fault FROM trace_nodes WHERE trace_key = ? ORDER BY kind, name",
            [int(_id(1)[19:], 16) - (1 << 63)],
        ).fetchall()
        assert rows == [(0, "front", False), (0, "pay", True), (1, "front", True)]  # replaced, not added
    finally:
        store.close()


def test_a_trace_replaced_without_facts_is_never_narrowed_away() -> None:
    store = open_store("memory")
    assert isinstance(store, DuckDBStore)
    try:
        write(store, _trace(1, "pay", False))
        cursor = store.graph_changes(-1)[-1][1]
        store.graph_replace({_id(1): []}, cursor)  # facts unknown: an opaque row
        assert _candidates(store, 'service("pay") { fault } and edge("x", "y")') == {_id(1)}
    finally:
        store.close()


def test_nothing_narrows_before_the_first_rollup_nor_for_trace_level_keywords() -> None:
    assert narrowing(parse("fault and responsetime > 1")) is None
    assert narrowing(parse('!service("a") or service() { fault } or ok')) is None
    assert narrowing(parse('service("a") and service("b") { error }')) is not None
    store = open_store("memory")
    assert isinstance(store, DuckDBStore)
    try:
        write(store, _trace(1, "pay", False))
        assert _candidates(store, 'service("pay") { fault }') == {_id(1)}  # no cursor yet
    finally:
        store.close()


def test_retention_that_removes_part_of_a_trace_makes_its_facts_opaque() -> None:
    store = open_store("memory")
    assert isinstance(store, DuckDBStore)
    try:
        partial = _trace(1, "pay", True)
        write(store, partial[:1], received=1.0)  # the root expires, its callee stays
        write(store, partial[1:], received=5.0)
        write(store, _trace(2, "pay", True), received=5.0)
        GraphRollup(store).run_once()
        assert _candidates(store, 'service("front") { fault }') == set()
        store.delete_before(3.0)
        assert _candidates(store, 'service("front") { fault }') == {_id(1)}  # may look different now
        assert _candidates(store, 'service("pay") { fault }') == {_id(1), _id(2)}
    finally:
        store.close()


def test_a_page_bound_counts_only_traces_the_whole_narrowing_keeps() -> None:
    """The newest traces have ``front`` but no faulted ``pay``: they must not use up the page."""
    store = open_store("memory")
    assert isinstance(store, DuckDBStore)
    try:
        for i in range(1, 7):
            write(store, _trace(i, "pay", i <= 2))
        GraphRollup(store).run_once()
        expr = parse('service("front") and service("pay") { fault }')
        for chunk in (1, 2, 1000):
            assert {h.trace_id for h, _ in matching_traces(store, BASE, BASE + 100, expr, chunk=chunk)} == {
                _id(1),
                _id(2),
            }
    finally:
        store.close()


_statuses = st.one_of(st.none(), st.integers(0, 700), st.sampled_from(["200", "404", "429", "503", "5x", ""]), st.booleans(),
                      st.floats(allow_nan=False))  # fmt: skip
_flag_values = st.one_of(st.none(), st.booleans(), st.integers(0, 1), st.text(max_size=3))


@settings(max_examples=300, deadline=None)
@given(fault=_flag_values, error=_flag_values, throttle=_flag_values, status=_statuses,
       shape=st.sampled_from(["full", "no response", "no http", "http not a dict"]))  # fmt: skip
def test_entity_flags_are_has_flag_of_each(fault: object, error: object, throttle: object, status: object, shape: str) -> None:
    entity: dict[str, object] = {"fault": fault, "error": error, "throttle": throttle}
    if shape == "full":
        entity["http"] = {"response": {"status": status}}
    elif shape == "no response":
        entity["http"] = {"request": {}}
    elif shape == "http not a dict":
        entity["http"] = "x"
    assert entity_flags(entity) == tuple(has_flag(entity, flag) for flag in ("fault", "error", "throttle"))

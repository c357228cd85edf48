"""Property: what DuckDB evaluates in SQL selects exactly what the Python evaluator selects.

Random traces (segments with and without parents, independent subsegments,
in-progress documents, flags, HTTP blocks, users, annotations on nested
subsegments) and random expressions over every keyword the DuckDB backend
claims (``Capabilities``) are checked against ``fluoro.query.filters.evaluate``.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fluoro.ingest import ingest
from fluoro.query.assemble import assemble
from fluoro.query.filters.ast import (
    And,
    Annotation,
    Compare,
    Const,
    Flag,
    Node,
    Not,
    Or,
    Present,
    feature,
    walk,
)
from fluoro.query.filters.evaluate import matches
from fluoro.store import open_store
from fluoro.store.api import SegmentBatch, TraceQuery
from fluoro.store.columns import ArrowBatch

BASE = 1_700_000_000
STRINGS = ["", "a", "ab", "b", "http://x/ab", "ÄB"]
NUMBERS = [0.0, 0.5, 1.0, 2.0, 200.0, 404.0, 429.0, 500.0, -1.0, 1e300]
ANN_VALUES = st.sampled_from(["", "a", "ab", 0, 1, 2.5, -3, True, False])


def _hex(n: int, width: int) -> str:
    return format(n, f"0{width}x")


@st.composite
def entity_fields(draw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for flag in ("fault", "error", "throttle"):
        value = draw(st.sampled_from([None, True, False]))
        if value is not None:
            out[flag] = value
    http: dict[str, Any] = {}
    status = draw(st.sampled_from([None, 200, 404, 429, 500, 503]))
    if status is not None:
        http["response"] = {"status": status}
    request = {k: draw(st.sampled_from(STRINGS)) for k in ("url", "method", "user_agent", "client_ip")
               if draw(st.booleans())}  # fmt: skip
    if request:
        http["request"] = request
    if http:
        out["http"] = http
    if draw(st.booleans()):
        out["annotations"] = draw(st.dictionaries(st.sampled_from(["k", "n", "Key.dot"]), ANN_VALUES, max_size=2))
    return out


@st.composite
def traces(draw: Any, index: int) -> list[dict[str, Any]]:
    trace_id = f"1-{_hex(BASE + index, 8)}-{_hex(index, 24)}"
    docs: list[dict[str, Any]] = []
    count = draw(st.integers(1, 4))
    ids = [_hex(index * 16 + i + 1, 16) for i in range(count)]
    for i in range(count):
        start = BASE + index + 0.01 + 0.1 * draw(st.integers(0, 9)) + 0.001 * i
        doc: dict[str, Any] = {"id": ids[i], "trace_id": trace_id, "name": f"s{i}", "start_time": start}
        if draw(st.integers(0, 5)) == 0:
            doc["in_progress"] = True
        else:
            doc["end_time"] = start + draw(st.sampled_from([0.0, 0.25, 0.5, 1.0, 2.0, 3.5]))
        kind = draw(st.sampled_from(["root", "child", "sub", "orphan"]) if i else st.sampled_from(["root", "orphan"]))
        if kind == "child":
            doc["parent_id"] = ids[draw(st.integers(0, i - 1))]
        elif kind == "sub":
            doc["parent_id"] = ids[draw(st.integers(0, i - 1))]
            doc["type"] = "subsegment"
        elif kind == "orphan":
            doc["parent_id"] = "f" * 16
        if draw(st.booleans()):
            doc["user"] = draw(st.sampled_from(STRINGS))
        doc.update(draw(entity_fields()))
        if draw(st.booleans()):
            sub = {"id": _hex(index * 16 + 9 + i, 16), "name": "inner", "start_time": start, "end_time": start + 0.1}
            sub.update(draw(entity_fields()))
            doc["subsegments"] = [sub]
        docs.append(doc)
    return docs


_NUM_FIELDS = ["responsetime", "duration", "http.status"]
_STR_FIELDS = ["http.url", "http.method", "http.useragent", "http.clientip", "user"]
_leaf = st.one_of(
    st.sampled_from(["ok", "error", "fault", "throttle", "partial"]).map(Flag),
    st.builds(Compare, st.sampled_from(_NUM_FIELDS), st.sampled_from(["=", "!=", "<", "<=", ">", ">="]),
              st.sampled_from(NUMBERS)),
    st.builds(Compare, st.sampled_from(_STR_FIELDS), st.sampled_from(["=", "!=", "contains", "beginswith", "endswith"]),
              st.sampled_from(STRINGS)),
    st.sampled_from(_STR_FIELDS).map(Present),
    st.builds(Annotation, st.sampled_from(["k", "n", "Key.dot", "absent"])),
    st.builds(Annotation, st.sampled_from(["k", "n"]), st.sampled_from(["=", "!=", "contains", "beginswith"]),
              st.sampled_from(["", "a", "ab"])),
    st.builds(Annotation, st.sampled_from(["k", "n"]), st.sampled_from(["=", "!=", "<", ">="]),
              st.sampled_from([0.0, 1.0, 2.5, -3.0])),
    st.builds(Annotation, st.sampled_from(["k", "n"]), st.sampled_from(["=", "!="]), st.booleans()),
    st.booleans().map(Const),
)  # fmt: skip


def boolean_trees(leaf: st.SearchStrategy[Node], max_leaves: int) -> st.SearchStrategy[Node]:
    """``leaf`` expressions combined with AND, OR and NOT."""
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.lists(inner, min_size=2, max_size=3).map(lambda xs: And(tuple(xs))),
            st.lists(inner, min_size=2, max_size=3).map(lambda xs: Or(tuple(xs))),
            inner.map(Not),
        ),
        max_leaves=max_leaves,
    )


_nested = boolean_trees(_leaf, max_leaves=6)
# Single keywords and top-level conjunctions are what the store narrows rows for: draw them often.
expressions = st.one_of(
    _leaf,
    _leaf.map(Not),
    st.lists(st.one_of(_leaf, _leaf.map(Not)), min_size=2, max_size=3).map(lambda xs: And(tuple(xs))),
    _nested,
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_duckdb_pushdown_equals_python_evaluator(data: Any) -> None:
    all_docs = [data.draw(traces(i), label=f"trace {i}") for i in range(data.draw(st.integers(1, 6)))]
    exprs = data.draw(st.lists(expressions, min_size=1, max_size=6), label="expressions")
    store = open_store("memory")
    try:
        supported = store.capabilities().filter_nodes
        batch = SegmentBatch()
        for docs in all_docs:
            for doc in docs:
                ingest(batch, json.dumps(doc).encode(), 1.0)
        store.write(ArrowBatch.from_batch(batch))
        if data.draw(st.booleans(), label="read from the summarized trace table"):
            assert store.wait_summarized(60)  # type: ignore[attr-defined]
        trace_ids = sorted({d["trace_id"] for docs in all_docs for d in docs})
        stored = store.documents(trace_ids)
        assembled = {t: assemble(t, [s for s in stored if s.trace_id == t]) for t in trace_ids}
        for expr in exprs:
            assert all(feature(n) in supported for n in walk(expr))
            page = store.find_traces(TraceQuery(BASE, BASE + 100, filter=expr, limit=1000))
            in_sql = {h.trace_id for h in page.hits}
            in_python = {t for t, trace in assembled.items() if matches(expr, trace)}
            assert in_sql == in_python, expr
    finally:
        store.close()


def test_generated_expressions_cover_every_pushed_feature() -> None:
    """The generator exercises every feature the DuckDB store claims, so the property covers them all."""
    store = open_store("memory")
    claimed = store.capabilities().filter_nodes
    store.close()
    seen: set[str] = set()

    @settings(max_examples=400, deadline=None)
    @given(expressions)
    def collect(expr: Node) -> None:
        seen.update(feature(n) for n in walk(expr))

    collect()
    assert claimed <= seen


@settings(max_examples=30, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_hostile_strings_are_parameters_not_sql(value: str) -> None:
    """A user string (quotes, SQL, NULs, escapes) reaches DuckDB only as a bound value."""
    from fluoro.query.filters import parse

    store = open_store("memory")
    try:
        tid = f"1-{_hex(BASE, 8)}-{_hex(1, 24)}"
        other = f"1-{_hex(BASE + 1, 8)}-{_hex(2, 24)}"
        batch = SegmentBatch()
        for trace_id, user in ((tid, value), (other, value + "'")):
            doc = {"id": _hex(int(trace_id[-4:], 16) + 1, 16), "trace_id": trace_id, "name": "s",
                   "start_time": BASE + 0.5, "end_time": BASE + 1, "user": user,
                   "annotations": {"k": user}, "http": {"request": {"url": user}}}  # fmt: skip
            ingest(batch, json.dumps(doc).encode(), 1.0)
        store.write(ArrowBatch.from_batch(batch))
        quoted = json.dumps(value)
        for expression in (f"user = {quoted}", f"annotation.k = {quoted}", f"http.url = {quoted}",
                           f'user = {quoted} or annotation.k != {quoted}'):  # fmt: skip
            page = store.find_traces(TraceQuery(BASE, BASE + 100, filter=parse(expression), limit=10))
            assert {h.trace_id for h in page.hits} == ({tid} if "!=" not in expression else {tid, other})
        assert store.stats()["segments"] == 2
    finally:
        store.close()

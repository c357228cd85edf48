"""The reference evaluator: a filter AST against one assembled trace, in Python.

Every construct is defined here; store compilers (DuckDB SQL, later
ClickHouse) push down the parts they can and must agree with this module
exactly (a property test checks the DuckDB one).

Trace-level keywords read the columns the store indexes for every stored
document (``fluoro.ingest.document`` extracts them, so both sides see the same
values): the root document is the earliest document without a parent, else
the earliest segment, else the earliest independent subsegment.
``service()``/``edge()``/``rootcause.*`` read the assembled trace.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable, Iterable

from fluoro.ingest.document import append, decode, validate
from fluoro.ingest.errors import Reject
from fluoro.query.assemble import Doc, Trace, entity_flags, has_flag, walk
from fluoro.query.filters.ast import (
    And,
    Annotation,
    Compare,
    Const,
    Edge,
    Flag,
    Node,
    Not,
    Or,
    Present,
    RootCause,
    RootCauseJson,
    Selector,
    Service,
    Value,
)
from fluoro.query.rootcause import root_causes
from fluoro.query.summaries import root_segment
from fluoro.query.trace_nodes import NodeId, TraceGraph, build
from fluoro.store.api import SegmentBatch


@dataclass(frozen=True)
class Row:
    """The indexed columns of one stored document (as the store has them)."""

    is_sub: bool
    parent_id: str | None
    in_progress: bool
    start: float
    end: float | None
    fault: bool
    error: bool
    throttle: bool
    any_throttle: bool
    http: dict[str, Any]
    user: str | None


_HTTP_COLUMNS = {"http.status": "http_status", "http.url": "http_url", "http.method": "http_method",
                 "http.useragent": "user_agent", "http.clientip": "client_ip"}  # fmt: skip


def _rows(trace: Trace) -> tuple[list[Row], list[tuple[str, Value]]]:
    batch = SegmentBatch()
    for stored in trace.latest:
        try:
            entity = decode(stored.doc)
            ann: list[tuple[str, Any]] = []
            throttled = validate(entity, ann)
            append(batch, entity, stored.doc, stored.received, throttled, ann)
        except Reject:
            continue
    rows = [
        Row(
            batch.is_sub[i], batch.parent_id[i], batch.in_progress[i], batch.start_time[i], batch.end_time[i],
            batch.fault[i], batch.error[i], batch.throttle[i], batch.any_throttle[i],
            {k: getattr(batch, col)[i] for k, col in _HTTP_COLUMNS.items()}, batch.user[i],
        )
        for i in range(len(batch))
    ]  # fmt: skip
    annotations: list[tuple[str, Value]] = []
    for key, s, n, b in zip(batch.ann_key, batch.ann_str, batch.ann_num, batch.ann_bool):
        annotations.append((key, s if s is not None else b if b is not None else n))  # type: ignore[arg-type]
    return rows, annotations


def _root_rank(row: Row) -> float:
    if row.is_sub:
        return 4e12 + row.start
    return row.start if row.parent_id is None else 2e12 + row.start


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str_op(op: str, actual: Any, expected: str) -> bool:
    if not isinstance(actual, str):
        return False
    if op == "=":
        return actual == expected
    if op == "!=":
        return actual != expected
    if op == "contains":
        return expected in actual
    if op == "beginswith":
        return actual.startswith(expected)
    if op == "endswith":
        return actual.endswith(expected)
    raise ValueError(op)


def _num_op(op: str, actual: Any, expected: float) -> bool:
    if isinstance(actual, bool) or not isinstance(actual, (int, float)):
        return False
    if math.isnan(actual):
        return False
    return {
        "=": actual == expected, "!=": actual != expected, "<": actual < expected,
        "<=": actual <= expected, ">": actual > expected, ">=": actual >= expected,
    }[op]  # fmt: skip


def compare(op: str, actual: Any, expected: Value) -> bool:
    if isinstance(expected, bool):
        if not isinstance(actual, bool):
            return False
        return (actual == expected) if op == "=" else (actual != expected)
    if isinstance(expected, str):
        return _str_op(op, actual, expected)
    return _num_op(op, actual, expected)


def _annotation(node: Annotation, pairs: Iterable[tuple[str, Any]]) -> bool:
    for key, value in pairs:
        if key != node.key:
            continue
        if node.op is None or node.value is None:
            return True
        if compare(node.op, value, node.value):
            return True
    return False


def _annotation_pairs(entities: Iterable[Doc]) -> Iterable[tuple[str, Any]]:
    for entity in entities:
        values = entity.get("annotations")
        if isinstance(values, dict):
            for key, value in values.items():
                if isinstance(value, (str, bool)) or (isinstance(value, (int, float)) and math.isfinite(value)):
                    yield str(key), (float(value) if isinstance(value, int) and not isinstance(value, bool) else value)


def _segment_strings(segment: Doc, field: str) -> list[str]:
    aws = _obj(segment.get("aws"))
    out: list[Any] = []
    if field == "availabilityzone":
        out = [_obj(aws.get(b)).get("availability_zone") for b in ("ec2", "ecs")]
    elif field == "instance.id":
        out = [_obj(aws.get(b)).get("instance_id") for b in ("ec2", "ecs")]
    elif field == "resource.arn":
        out = [segment.get("resource_arn")]
    elif field == "user":
        out = [segment.get("user")]
    return [v for v in out if isinstance(v, str)]


def _http_field(entity: Doc, field: str) -> Any:
    http = _obj(entity.get("http"))
    if field == "http.status":
        status = _obj(http.get("response")).get("status")
        if isinstance(status, str) and status.isdigit():
            return int(status)
        return status if type(status) is int else None
    request = _obj(http.get("request"))
    key = {"http.url": "url", "http.method": "method", "http.useragent": "user_agent", "http.clientip": "client_ip"}
    value = request.get(key[field])
    return value if isinstance(value, str) else None


def _entity_duration(entity: Doc) -> float | None:
    start, end = entity.get("start_time"), entity.get("end_time")
    if isinstance(start, (int, float)) and isinstance(end, (int, float)):
        return float(end) - float(start)
    return None


def selects(selector: Selector, node: NodeId) -> bool:
    return (
        (selector.name is None or selector.name == node.name)
        and (selector.type is None or selector.type == node.type)
        and (selector.account_id is None or selector.account_id == node.account_id)
    )


class TraceView:
    """Everything the evaluator reads about one trace, computed on first use."""

    def __init__(self, trace: Trace) -> None:
        self.trace = trace

    @cached_property
    def _indexed(self) -> tuple[list[Row], list[tuple[str, Value]]]:
        return _rows(self.trace)

    @property
    def rows(self) -> list[Row]:
        return self._indexed[0]

    @property
    def annotations(self) -> list[tuple[str, Value]]:
        return self._indexed[1]

    @cached_property
    def root(self) -> Row | None:
        return min(self.rows, key=_root_rank) if self.rows else None

    @cached_property
    def graph(self) -> TraceGraph:
        return build(self.trace)

    @cached_property
    def root_segment(self) -> Doc | None:
        return root_segment(self.trace)

    @cached_property
    def causes(self) -> dict[str, list[dict[str, Any]]]:
        return root_causes(self.graph, self.root_segment)


# -- trace scope ------------------------------------------------------------------------


def _trace_flag(view: TraceView, name: str) -> bool:
    if name == "ok":
        root = view.root
        return not (root is not None and (root.fault or root.error or root.throttle))
    if name in ("fault", "error"):
        root = view.root
        return bool(root is not None and getattr(root, name))
    if name == "throttle":
        return any(r.any_throttle for r in view.rows)
    if name == "partial":
        return any(r.in_progress for r in view.rows)
    if name == "inferred":
        return has_inferred(view.trace)
    raise ValueError(name)


def _trace_value(view: TraceView, field: str) -> Any:
    root = view.root
    if field == "responsetime":
        return None if root is None or root.end is None else root.end - root.start
    if field == "duration":
        if not view.rows:
            return None
        return max(r.start if r.end is None else r.end for r in view.rows) - min(r.start for r in view.rows)
    if field in _HTTP_COLUMNS:
        return None if root is None else root.http[field]
    raise ValueError(field)


# Trace-level string keywords read from the trace's segments (not its inferred ones).
SEGMENT_ATTRIBUTES = ("availabilityzone", "instance.id", "resource.arn")


def segment_attribute_values(trace: Trace, field: str) -> list[str]:
    """The values a trace-level ``field`` of ``SEGMENT_ATTRIBUTES`` compares against."""
    return [v for s in trace.segments if not s.get("inferred") for v in _segment_strings(s, field)]


def has_inferred(trace: Trace) -> bool:
    """The trace-level ``inferred`` keyword."""
    return any(s.get("inferred") is True for s in trace.segments)


def _trace_strings(view: TraceView, field: str) -> list[str]:
    if field == "user":
        return [r.user for r in view.rows if r.user is not None]
    if field in SEGMENT_ATTRIBUTES:
        return segment_attribute_values(view.trace, field)
    value = _trace_value(view, field)
    return [value] if isinstance(value, str) else []


def _trace(node: Node, view: TraceView) -> bool:
    if isinstance(node, Flag):
        return _trace_flag(view, node.name)
    if isinstance(node, Present):
        return bool(_trace_strings(view, node.field))
    if isinstance(node, Compare):
        if isinstance(node.value, str):
            value = node.value
            return any(_str_op(node.op, v, value) for v in _trace_strings(view, node.field))
        return _num_op(node.op, _trace_value(view, node.field), node.value)  # type: ignore[arg-type]
    if isinstance(node, Annotation):
        return _annotation(node, view.annotations)
    if isinstance(node, Service):
        return _service(node, view)
    if isinstance(node, Edge):
        return _edge(node, view)
    if isinstance(node, RootCause):
        return _rootcause(node, view)
    if isinstance(node, RootCauseJson):
        return _rootcause_json(node, view)
    raise ValueError(f"{node!r} at trace level")


# -- service and edge scopes --------------------------------------------------------------


def _entity_scope(node: Node, entity: Doc, extra: Callable[[Node], bool | None]) -> bool:
    """Keywords that read one entity (a service's segment, an edge's call)."""
    found = extra(node)
    if found is not None:
        return found
    if isinstance(node, Flag):
        if node.name == "ok":
            return not any(entity_flags(entity))
        if node.name in ("fault", "error", "throttle"):
            return has_flag(entity, node.name)
        if node.name == "partial":
            return entity.get("in_progress") is True
        if node.name == "inferred":
            return entity.get("inferred") is True
        raise ValueError(node.name)
    if isinstance(node, (Compare, Present)):
        if node.field in ("responsetime", "duration"):
            assert isinstance(node, Compare) and not isinstance(node.value, str)
            return _num_op(node.op, _entity_duration(entity), float(node.value))
        if node.field.startswith("http."):
            actual = _http_field(entity, node.field)
            if isinstance(node, Present):
                return actual is not None
            return compare(node.op, actual, node.value)
        values = _segment_strings(entity, node.field)
        if isinstance(node, Present):
            return bool(values)
        return any(compare(node.op, v, node.value) for v in values)
    raise ValueError(f"{node!r} in an entity scope")


def _logic(node: Node, leaf: Callable[[Node], bool]) -> bool:
    if isinstance(node, And):
        return all(_logic(n, leaf) for n in node.items)
    if isinstance(node, Or):
        return any(_logic(n, leaf) for n in node.items)
    if isinstance(node, Not):
        return not _logic(node.item, leaf)
    if isinstance(node, Const):
        return node.value
    return leaf(node)


def _service(node: Service, view: TraceView) -> bool:
    root = view.root_segment
    for nid, segments in view.graph.nodes.items():
        if not selects(node.selector, nid):
            continue
        if node.body is None:
            return True
        for segment in segments:

            def extra(leaf: Node, segment: Doc = segment, nid: NodeId = nid) -> bool | None:
                if isinstance(leaf, Flag) and leaf.name == "root":
                    return segment is root
                if isinstance(leaf, (Compare, Present)) and leaf.field in ("name", "type"):
                    actual = nid.name if leaf.field == "name" else nid.type
                    return actual is not None if isinstance(leaf, Present) else compare(leaf.op, actual, leaf.value)
                if isinstance(leaf, Annotation):
                    return _annotation(leaf, _annotation_pairs(walk(segment)))
                return None

            if _logic(node.body, lambda leaf, s=segment, x=extra: _entity_scope(leaf, s, x)):  # type: ignore[misc]
                return True
    return False


def _edge(node: Edge, view: TraceView) -> bool:
    for call in view.graph.calls:
        if not (selects(node.source, call.source) and selects(node.destination, call.destination)):
            continue
        if node.body is None:
            return True

        def extra(leaf: Node, call_dest: NodeId = call.destination) -> bool | None:
            if isinstance(leaf, (Compare, Present)) and leaf.field == "name":
                return True if isinstance(leaf, Present) else compare(leaf.op, call_dest.name, leaf.value)
            return None

        if _logic(node.body, lambda leaf, d=call.doc, x=extra: _entity_scope(leaf, d, x)):  # type: ignore[misc]
            return True
    return False


# -- root-cause scopes ----------------------------------------------------------------------

_CATEGORY_KEYS = {"fault": "FaultRootCauses", "error": "ErrorRootCauses", "responsetime": "ResponseTimeRootCauses"}


def _items(cause: dict[str, Any], level: str) -> list[dict[str, Any]]:
    if level == "service":
        return [dict(s, _remote=False) for s in cause["Services"]]
    entities = [dict(e, _inferred=s.get("Inferred"), _type=s.get("Type"))
                for s in cause["Services"] for e in s["EntityPath"]]  # fmt: skip
    if level == "entity":
        return entities
    return [dict(x, _remote=e.get("Remote")) for e in entities for x in e.get("Exceptions", ())]


def _rootcause(node: RootCause, view: TraceView) -> bool:
    for cause in view.causes[_CATEGORY_KEYS[node.category]]:
        items = _items(cause, node.level)
        for index, item in enumerate(items):

            def leaf(n: Node, item: dict[str, Any] = item, index: int = index, count: int = len(items)) -> bool:
                if isinstance(n, Flag):
                    if n.name == "first":
                        return index == 0
                    if n.name == "last":
                        return index == count - 1
                    if n.name == "remote":
                        return bool(item.get("Remote", item.get("_remote")))
                    if n.name == "inferred":
                        return bool(item.get("Inferred"))
                    raise ValueError(n.name)
                if isinstance(n, (Compare, Present)):
                    actual: Any = {
                        "name": item.get("Name"), "type": item.get("Type"), "message": item.get("Message"),
                        "index": float(index), "coverage": item.get("Coverage"),
                    }[n.field]  # fmt: skip
                    if isinstance(n, Present):
                        return actual is not None
                    return compare(n.op, actual, n.value)
                raise ValueError(f"{n!r} in a root-cause scope")

            if _logic(node.body, leaf):
                return True
    return False


def _json_match(pattern: Any, actual: Any) -> bool:
    """Present fields must match exactly; omitted fields are wildcards; lists match element-wise."""
    if isinstance(pattern, dict):
        return isinstance(actual, dict) and all(k in actual and _json_match(v, actual[k]) for k, v in pattern.items())
    if isinstance(pattern, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(pattern)
            and all(_json_match(p, a) for p, a in zip(pattern, actual))
        )
    if isinstance(pattern, bool) or isinstance(actual, bool):
        return type(pattern) is type(actual) and pattern == actual
    return bool(pattern == actual)


def _rootcause_json(node: RootCauseJson, view: TraceView) -> bool:
    causes = [c for key in _CATEGORY_KEYS.values() for c in view.causes[key]]
    return all(any(_json_match(p, c) for c in causes) for p in node.patterns)


# -- entry points --------------------------------------------------------------------------


def matches(node: Node | None, trace: Trace | TraceView) -> bool:
    """Whether ``trace`` satisfies ``node`` (None matches everything)."""
    if node is None:
        return True
    view = trace if isinstance(trace, TraceView) else TraceView(trace)
    return _logic(node, lambda leaf: _trace(leaf, view))


__all__ = ["TraceView", "matches", "selects"]

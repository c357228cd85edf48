"""A filter → a necessary condition on a trace's node facts, to narrow candidates before evaluation.

``service()``, ``edge()`` and ``rootcause.*`` are evaluated in Python on
assembled traces (``evaluate``).  ``narrowing`` derives a condition every
trace they select satisfies, over the per-trace rows of
``fluoro.query.node_facts`` (one per node, one per call pair, each with its
flags), so the store can skip traces that cannot match; the evaluator still
decides on the rest.  Soundness is the only rule: a construct that cannot be
narrowed exactly as the evaluator reads it narrows nothing (``TRUE``).
Trace-level ``resource.arn``, ``instance.id``, ``availabilityzone`` and
``inferred``, which the store cannot read from its columns, narrow the same
way by their attribute facts.

Each node is narrowed for a polarity: what must hold if it is true, and if
it is false, so ``NOT`` swaps polarity instead of negating an approximation.
A ``service()`` that must be false narrows nothing (its facts would have to
be complete); one that must be true needs a node row matching the selector
and the body's own narrowing, read per row: the body holds for one segment,
so each flag it needs is one some segment of the node has.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, ClassVar, Sequence

from fluoro.query.filters.ast import (
    And,
    Compare,
    Const,
    Edge,
    Flag,
    Node,
    Not,
    Or,
    Present,
    RootCause,
    Selector,
    Service,
)
from fluoro.query.filters.evaluate import SEGMENT_ATTRIBUTES
from fluoro.store.api import FACT_ATTR, FACT_EDGE, FACT_NODE

TRUE, FALSE = Const(True), Const(False)
STRING_OPS = frozenset({"=", "!=", "contains", "beginswith", "endswith"})


@dataclass(frozen=True)
class Column(Node):
    """A condition on one fact row: ``op`` ``"is"`` reads a boolean column, else a string
    operator as ``evaluate`` applies it (a NULL column satisfies none)."""

    kind: ClassVar[str] = "fact_column"
    column: str
    op: str
    value: str | None = None


@dataclass(frozen=True)
class Exists(Node):
    """Some fact row of ``fact_kind`` (``FACT_NODE``/``FACT_EDGE``/``FACT_ATTR``) satisfies ``cond``
    (``Column`` leaves under ``And``/``Or``/``Not``/``Const``).  A trace whose facts are
    unknown satisfies every ``Exists``."""

    kind: ClassVar[str] = "fact_exists"
    fact_kind: int
    cond: Node


@dataclass(frozen=True)
class Absent(Node):
    """No ``FACT_ATTR`` row satisfies ``cond``.  Sound because a trace's attribute facts are
    complete (every value of every attribute); a trace whose facts are unknown (an opaque
    row) or stale satisfies every ``Absent`` as it does every ``Exists``."""

    kind: ClassVar[str] = "fact_absent"
    cond: Node


def _all(items: Sequence[Node]) -> Node:
    if any(i == FALSE for i in items):
        return FALSE
    items = [i for i in items if i != TRUE]
    return TRUE if not items else items[0] if len(items) == 1 else And(tuple(items))


def _any(items: Sequence[Node]) -> Node:
    if any(i == TRUE for i in items):
        return TRUE
    items = [i for i in items if i != FALSE]
    return FALSE if not items else items[0] if len(items) == 1 else Or(tuple(items))


def _logic(node: Node, positive: bool, leaf: Callable[[Node, bool], Node]) -> Node:
    """Combinators for any scope: And/Or are duals under negation, Not swaps polarity."""
    if isinstance(node, (And, Or)):
        parts = [_logic(n, positive, leaf) for n in node.items]
        return _all(parts) if isinstance(node, And) == positive else _any(parts)
    if isinstance(node, Not):
        return _logic(node.item, not positive, leaf)
    if isinstance(node, Const):
        return TRUE if node.value == positive else FALSE
    return leaf(node, positive)


def _exists(fact_kind: int, cond: Node) -> Node:
    # A trace with any node at all narrows nothing worth a join.
    return TRUE if cond == TRUE else FALSE if cond == FALSE else Exists(fact_kind, cond)


def _selects(selector: Selector, prefix: str = "") -> list[Node]:
    """``evaluate.selects``: exact equality on each field the selector names."""
    fields = (("name", selector.name), ("type", selector.type), ("account", selector.account_id))
    return [Column(prefix + column, "=", value) for column, value in fields if value is not None]


def _flag(name: str, positive: bool) -> Node:
    """An entity-scope flag of ``evaluate._entity_scope`` as the node/edge row aggregates it."""
    if name in ("fault", "error", "throttle"):
        return Column(name, "is") if positive else TRUE
    if name == "ok":
        # ok = none of the three; not ok = one of them.
        return Column("ok", "is") if positive else _any([Column(f, "is") for f in ("fault", "error", "throttle")])
    return TRUE


def _string(column: str, node: Compare, positive: bool) -> Node:
    if not isinstance(node.value, str) or node.op not in STRING_OPS:
        return TRUE
    cond = Column(column, node.op, node.value)
    return cond if positive else Not(cond)


def _service_leaf(node: Node, positive: bool) -> Node:
    if isinstance(node, Flag):
        return _flag(node.name, positive)
    if isinstance(node, Compare) and node.field in ("name", "type"):
        return _string(node.field, node, positive)
    return TRUE


def _edge_leaf(node: Node, positive: bool) -> Node:
    if isinstance(node, Flag):
        return _flag(node.name, positive)
    if isinstance(node, Compare) and node.field == "name":  # an edge's name is its destination's
        return _string("dst_name", node, positive)
    return TRUE


def _rootcause(node: RootCause) -> Node:
    """Every service on a fault (error) path starts at a segment with the flag, so its node
    has the flag; service items are named and typed as their node."""
    base = [Column(node.category, "is")] if node.category in ("fault", "error") else []
    if node.level == "service":

        def leaf(n: Node, positive: bool) -> Node:
            if isinstance(n, Compare) and n.field in ("name", "type"):
                return _string(n.field, n, positive)
            return TRUE

        return _exists(FACT_NODE, _all([*base, _logic(node.body, True, leaf)]))
    return _exists(FACT_NODE, _all(base))


def _attribute(node: Node) -> Node | None:
    """The fact rows a trace-level attribute keyword reads, or None for other nodes."""
    if isinstance(node, (Compare, Present)) and node.field in SEGMENT_ATTRIBUTES:
        # Some value of the trace's satisfies the operator (``!=`` included): a fact row does.
        named = Column("type", "=", node.field)
        if isinstance(node, Present):
            return named
        value = _string("name", node, True)
        return TRUE if value == TRUE else _all([named, value])
    if isinstance(node, Flag) and node.name == "inferred":
        return Column("type", "=", "inferred")
    return None


def _trace_leaf(node: Node, positive: bool) -> Node:
    attribute = _attribute(node)
    if attribute is not None:
        if attribute == TRUE:
            return TRUE
        return _exists(FACT_ATTR, attribute) if positive else Absent(attribute)
    if not positive:
        return TRUE  # "no node/edge/cause like this": service rows are read per row, never narrowed
    if isinstance(node, Service):
        body = TRUE if node.body is None else _logic(node.body, True, _service_leaf)
        return _exists(FACT_NODE, _all([*_selects(node.selector), body]))
    if isinstance(node, Edge):
        body = TRUE if node.body is None else _logic(node.body, True, _edge_leaf)
        selectors = [*_selects(node.source), *_selects(node.destination, "dst_")]
        return _exists(FACT_EDGE, _all([*selectors, body]))
    if isinstance(node, RootCause):
        return _rootcause(node)
    return TRUE  # other trace-level keywords: the store's SQL (or the evaluator) handles them


def narrowing(node: Node | None) -> Node | None:
    """A condition on node facts that every trace ``node`` selects satisfies, or None (no narrowing).

    ``FALSE`` means no trace with known facts can match.
    """
    if node is None:
        return None
    out = _logic(node, True, _trace_leaf)
    return None if out == TRUE else out


__all__ = ["Absent", "Column", "Exists", "narrowing"]

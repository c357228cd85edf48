"""Per-trace node facts: what a ``service()``/``edge()`` filter could find in a trace, written once.

The rollup computes them with the service graph and the store keeps them
(``GraphStore.graph_replace``), so a search can narrow candidates in SQL
(``fluoro.query.filters.narrow``) before the exact evaluation in Python.
They derive from ``fluoro.query.trace_nodes.build``, the very structure the
evaluator walks, so a node or call the evaluator can see always has a fact:
one row per node (every segment, orphaned subsegment and inferred segment,
keyed as the evaluator keys it) and one per distinct (source, destination)
call pair, each with the flags some of its entities carry (``has_flag``, as
the entity scopes read them).

Trace-level keywords that need the assembled trace get facts too, so that a
search for a rare value does not assemble every trace of the window: one
``FACT_ATTR`` row per distinct value of ``resource.arn``, ``instance.id`` and
``availabilityzone`` (``type`` names the keyword, ``name`` holds the value, as
``evaluate.segment_attribute_values`` reads them), and one ``inferred`` row
when the trace has an inferred segment.
"""

from __future__ import annotations

from typing import Iterable

from fluoro.query.assemble import Doc, Trace, entity_flags
from fluoro.query.filters.evaluate import SEGMENT_ATTRIBUTES, has_inferred, segment_attribute_values
from fluoro.query.trace_nodes import NodeId, build
from fluoro.store.api import FACT_ATTR, FACT_EDGE, FACT_NODE, FACT_OPAQUE, NodeFact

OPAQUE = NodeFact(FACT_OPAQUE)


def _flags(entities: Iterable[Doc]) -> tuple[bool, bool, bool, bool]:
    fault = error = throttle = ok = False
    for entity in entities:
        f, e, t = entity_flags(entity)
        fault, error, throttle, ok = fault or f, error or e, throttle or t, ok or not (f or e or t)
    return fault, error, throttle, ok


def node_facts(trace: Trace) -> list[NodeFact]:
    graph = build(trace)
    out = [
        NodeFact(FACT_NODE, nid.name, nid.type, nid.account_id, None, None, None, *_flags(segments))
        for nid, segments in graph.nodes.items()
    ]
    calls: dict[tuple[NodeId, NodeId], list[Doc]] = {}
    for call in graph.calls:
        calls.setdefault((call.source, call.destination), []).append(call.doc)
    for (src, dst), docs in calls.items():
        out.append(NodeFact(FACT_EDGE, src.name, src.type, src.account_id, dst.name, dst.type, dst.account_id,
                            *_flags(docs)))  # fmt: skip
    for field in SEGMENT_ATTRIBUTES:
        for value in dict.fromkeys(segment_attribute_values(trace, field)):
            out.append(NodeFact(FACT_ATTR, value, field))
    if has_inferred(trace):
        out.append(NodeFact(FACT_ATTR, "", "inferred"))
    return out

"""Service nodes and call edges of one assembled trace, as filters and root causes see them.

A node is a (name, type, account) identity: a real segment's name and
``origin``, or an inferred segment's (a DynamoDB table's node is named after
the table).  An edge is one call: from the node owning the caller entity to
the node of the callee segment.  Its measurements come from the caller's
subsegment, as X-Ray's edges do ("the edge uses the upstream service's
subsegment"); when the parent is itself a segment (Lambda's two segments),
from the callee segment.  Node identity is ``fluoro.query.nodes``'s (the service graph's);
this module adds what filters need on top: the documents behind each node and call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from fluoro.query.assemble import Doc, Trace, walk
from fluoro.query.nodes import called_node, segment_node


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class NodeId(NamedTuple):
    """A node as filters and root causes name it (a tuple: built and hashed per entity)."""

    name: str
    type: str | None
    account_id: str | None

    def as_service_id(self) -> dict[str, Any]:
        out: dict[str, Any] = {"Name": self.name, "Names": [self.name]}
        if self.account_id is not None:
            out["AccountId"] = self.account_id
        if self.type is not None:
            out["Type"] = self.type
        return out


def node_id(segment: Doc, by_id: dict[str, Doc] | None = None) -> NodeId:
    """The node of a segment, named as the service graph names it (``fluoro.query.nodes``).

    An inferred segment takes the node of the call it stands for: its parent subsegment.
    """
    parent = (by_id or {}).get(str(segment.get("parent_id"))) if segment.get("inferred") else None
    return NodeId(*(segment_node(segment) if parent is None else called_node(parent)))


@dataclass
class Call:
    """One edge occurrence: ``doc`` is the entity whose fields describe the call."""

    source: NodeId
    destination: NodeId
    doc: Doc
    callee: Doc


@dataclass
class TraceGraph:
    segments: list[Doc]  # real (and orphaned) then inferred, as assembled
    owner: dict[int, Doc] = field(default_factory=dict)  # id(entity) -> its top-level segment
    by_id: dict[str, Doc] = field(default_factory=dict)  # entity id -> entity
    nodes: dict[NodeId, list[Doc]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    # entity id -> top-level segments whose parent_id is that entity (downstream calls)
    callees: dict[str, list[Doc]] = field(default_factory=dict)

    node_ids: dict[int, NodeId] = field(default_factory=dict)  # id(top-level segment) -> its node
    # Each of ``segments`` with its nested subsegments (``walk``), in the same order.
    entities: list[list[Doc]] = field(default_factory=list)

    def owner_of(self, entity: Doc) -> Doc:
        return self.owner[id(entity)]

    def node_of(self, segment: Doc) -> NodeId:
        return self.node_ids[id(segment)]


def build(trace: Trace) -> TraceGraph:
    graph = TraceGraph(trace.segments)
    ids = graph.node_ids
    owner, by_id = graph.owner, graph.by_id
    walks = trace.walks
    for segment in trace.segments:
        found = walks.get(id(segment)) or walk(segment)
        graph.entities.append(found)
        for entity in found:
            owner[id(entity)] = segment
            entity_id = entity.get("id")
            if isinstance(entity_id, str) and entity_id not in by_id:
                by_id[entity_id] = entity
    for segment in trace.segments:
        ids[id(segment)] = node = node_id(segment, graph.by_id)
        graph.nodes.setdefault(node, []).append(segment)
    for segment in trace.segments:
        parent_id = segment.get("parent_id")
        parent = graph.by_id.get(parent_id) if isinstance(parent_id, str) else None
        if parent is None or graph.owner[id(parent)] is segment:
            continue
        graph.callees.setdefault(parent_id, []).append(segment)  # type: ignore[arg-type]
        caller = graph.owner[id(parent)]
        doc = parent if parent is not caller else segment
        graph.calls.append(Call(ids[id(caller)], ids[id(segment)], doc, segment))
    return graph

"""Service nodes and call edges of one assembled trace, as filters and root causes see them.

A node is a (name, type, account) identity: a real segment's name and
``origin``, or an inferred segment's (a DynamoDB table's node is named after
the table).  An edge is one call: from the node owning the caller entity to
the node of the callee segment.  Its measurements come from the caller's
subsegment, as X-Ray's edges do ("the edge uses the upstream service's
subsegment"); when the parent is itself a segment (Lambda's two segments),
from the callee segment.  The graph helper's module may replace this one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fluoro.query.assemble import Doc, Trace, walk


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class NodeId:
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


def node_id(segment: Doc) -> NodeId:
    name = str(segment.get("name", ""))
    aws = _obj(segment.get("aws"))
    if segment.get("inferred") and segment.get("origin") == "AWS::DynamoDB::Table" and aws.get("table_name"):
        name = str(aws["table_name"])
    account = aws.get("account_id")
    origin = segment.get("origin")
    return NodeId(name, origin if isinstance(origin, str) else None, account if isinstance(account, str) else None)


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

    def owner_of(self, entity: Doc) -> Doc:
        return self.owner[id(entity)]


def build(trace: Trace) -> TraceGraph:
    graph = TraceGraph(trace.segments)
    ids: dict[int, NodeId] = {}
    for segment in trace.segments:
        for entity in walk(segment):
            graph.owner[id(entity)] = segment
            if isinstance(entity.get("id"), str):
                graph.by_id.setdefault(entity["id"], entity)
        ids[id(segment)] = node = node_id(segment)
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

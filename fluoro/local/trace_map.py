"""Nodes and edges of one trace's map, read from BatchGetTraces documents, following the
service-graph rules (reference backend.md section 4): a node per segment keyed by
name and origin, inferred DynamoDB/S3 nodes named after the table or bucket, an edge
from the node owning a segment's ``parent_id`` entity, and a client node before each
root segment.

Used by ``fluoro demo`` to draw the trace map when the server has no GetServiceGraph.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable


@dataclass(frozen=True, order=True)
class Node:
    name: str
    type: str


def documents(trace: dict[str, Any]) -> list[dict[str, Any]]:
    """The parsed ``Document`` of each segment entry (strings as the API returns them, or objects)."""
    docs = []
    for entry in trace.get("Segments", []):
        doc = entry["Document"]
        docs.append(json.loads(doc) if isinstance(doc, str) else doc)
    return docs


def node_of(doc: dict[str, Any]) -> Node:
    aws = doc.get("aws") or {}
    origin = doc.get("origin") or ("remote" if doc.get("namespace") == "remote" else "")
    if doc.get("inferred"):
        if origin == "AWS::DynamoDB::Table" and aws.get("table_name"):
            return Node(str(aws["table_name"]), origin)
        if origin == "AWS::S3::Bucket" and aws.get("bucket_name"):
            return Node(str(aws["bucket_name"]), origin)
        if origin == "AWS::Lambda" and aws.get("function_name"):
            return Node(str(aws["function_name"]), origin)
    return Node(str(doc.get("name", "")), origin or "unknown")


def _ids(entity: dict[str, Any]) -> Iterable[str]:
    yield entity["id"]
    for sub in entity.get("subsegments", []) or []:
        yield from _ids(sub)


def trace_graph(docs: list[dict[str, Any]]) -> tuple[set[Node], set[tuple[Node, Node]]]:
    """(nodes, edges) of one trace."""
    segments = [d for d in docs if d.get("type") != "subsegment"]
    owner: dict[str, Node] = {}
    for doc in segments:
        for entity_id in _ids(doc):
            owner[entity_id] = node_of(doc)
    # A subsegment sent on its own whose parent never arrived (the seed's unclosed
    # "boto test") belongs to the innermost real segment that encloses it in time.
    for doc in docs:
        if doc.get("type") != "subsegment" or doc.get("parent_id") in owner:
            continue
        enclosing = [s for s in segments if not s.get("inferred")
                     and s["start_time"] <= doc["start_time"] <= s.get("end_time", float("inf"))]
        if enclosing:
            home = node_of(max(enclosing, key=lambda s: s["start_time"]))
            for entity_id in _ids(doc):
                owner[entity_id] = home
    nodes: set[Node] = set()
    edges: set[tuple[Node, Node]] = set()
    for doc in segments:
        node = node_of(doc)
        nodes.add(node)
        parent = doc.get("parent_id")
        if parent and parent in owner:
            if owner[parent] != node:
                edges.add((owner[parent], node))
        elif not parent or not doc.get("inferred"):
            client = Node(node.name, "client")
            nodes.add(client)
            edges.add((client, node))
    return nodes, edges

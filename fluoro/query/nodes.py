"""Service-graph identity for one assembled trace: its nodes, its edges, and what each counts.

A pure function of the documents ``fluoro.query.assemble`` returns (real
segments, orphaned subsegments, inferred segments); everything that shows
or filters a trace map (GetServiceGraph, GetTraceGraph, the per-minute
rollup, ``service()``/``edge()`` filter scopes) derives from ``trace_graph``.

Rules (backend.md section 4, checked against the published outputs):

- A real segment is a node keyed by (name, ``origin``, ``aws.account_id``);
  each complete segment is one request counted on its node.
- An inferred segment (an ``aws``/``remote`` call whose callee sent no
  segment) is a node named after the resource it called: DynamoDB table,
  S3 bucket, SQS queue, Lambda function; otherwise the subsegment's name,
  typed ``AWS::<Service>``, ``remote``, or ``Database::SQL``.  Its requests
  are the caller's subsegment.
- Edges: caller → callee through ``parent_id``.  When the parent is a
  subsegment, the edge counts that subsegment (the caller's view, network
  included); when the parent is a segment itself (``AWS::Lambda`` →
  ``AWS::Lambda::Function``) it counts the callee segment.  A segment →
  each of its inferred nodes, counted by the calling subsegment.  A
  ``client`` node (named after the entry segment) → every segment that has
  no parent, counted by that segment.
- ``links`` on any entity become ``EdgeType: link`` edges; ``child`` links
  point from the entity's node to the linked one, ``parent`` links (and
  links without a reference type, as OpenTelemetry span links) the other
  way round.  The linked node comes from the link's
  ``aws.xray.reserved.names``/``type`` attributes, or from ``resolve_link``
  (the caller looks the linked document up) when those are absent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator, NamedTuple, Sequence

from fluoro.query.assemble import entity_flags, infer_origin, walk

Doc = dict[str, Any]
CLIENT = "client"
REMOTE = "remote"
LINK = "link"

OK, ERROR, THROTTLE, FAULT = "ok", "error", "throttle", "fault"


class NodeKey(NamedTuple):
    """What makes two requests land on the same node of the map (a tuple: built and hashed per entity)."""

    name: str
    type: str | None = None
    account: str | None = None


@dataclass(frozen=True)
class Request:
    """One request as an entity recorded it; ``end`` is None while in progress (not counted)."""

    entity_id: str
    start: float
    end: float | None
    outcome: str  # OK | ERROR | THROTTLE | FAULT

    @property
    def response_time(self) -> float | None:
        # Microseconds: epoch-second floats carry ~1e-7 s of noise, which sums would show.
        return None if self.end is None else max(0.0, round(self.end - self.start, 6))


@dataclass(frozen=True)
class NodeSample:
    node: NodeKey
    request: Request
    inferred: bool


@dataclass(frozen=True)
class EdgeSample:
    source: NodeKey
    target: NodeKey
    request: Request
    edge_type: str | None = None  # None (synchronous) or LINK
    alias: NodeKey | None = None  # the caller's name for the target, when it differs
    event_age: float | None = None  # LINK edges: seconds from the producer's end to receipt


@dataclass
class TraceGraph:
    nodes: list[NodeSample]  # one per counted request; client nodes have none
    edges: list[EdgeSample]
    client_nodes: list[NodeKey]
    roots: list[NodeKey]  # nodes that clients call

    def node_keys(self) -> set[NodeKey]:
        keys = {s.node for s in self.nodes} | set(self.client_nodes)
        for edge in self.edges:
            keys.add(edge.source)
            keys.add(edge.target)
        return keys


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def outcome(entity: Doc) -> str:
    """fault (flag or 5xx) beats throttle (flag or 429) beats error (flag or 4xx) beats ok."""
    fault, error, throttle = entity_flags(entity)
    return FAULT if fault else THROTTLE if throttle else ERROR if error else OK


def _request(entity: Doc) -> Request | None:
    start = _number(entity.get("start_time"))
    if start is None:
        return None
    end = None if entity.get("in_progress") is True else _number(entity.get("end_time"))
    return Request(str(entity.get("id", "")), start, end, outcome(entity))


def _account(entity: Doc) -> str | None:
    account = _obj(entity.get("aws")).get("account_id")
    return account if isinstance(account, str) and account else None


def segment_node(segment: Doc) -> NodeKey:
    """The node of a segment its service sent."""
    origin = segment.get("origin")
    return NodeKey(
        str(segment.get("name", "")), origin if isinstance(origin, str) else None, _account(segment)
    )


def _last_part(value: str, sep: str) -> str:
    return value.rstrip(sep).rsplit(sep, 1)[-1]


def called_node(sub: Doc) -> NodeKey:
    """The node an ``aws`` or ``remote`` subsegment calls, as X-Ray infers it."""
    name = str(sub.get("name", ""))
    account = _account(sub)
    if sub.get("namespace") != "aws":
        return NodeKey(name, infer_origin(sub) or REMOTE, account)
    kind = infer_origin(sub) or f"AWS::{name}"
    aws = _obj(sub.get("aws"))
    if kind == "AWS::DynamoDB::Table":
        name = str(aws["table_name"])
    elif kind == "AWS::S3::Bucket":
        name = str(aws["bucket_name"])
    elif kind == "AWS::SQS::Queue":
        name = _last_part(str(aws["queue_url"]), "/")
    elif kind == "AWS::Lambda" and isinstance(aws.get("function_name"), str) and aws["function_name"]:
        function = aws["function_name"]  # a name, or an ARN (possibly with a version)
        name = function.split(":function:", 1)[1].split(":", 1)[0] if ":function:" in function else function
    return NodeKey(name, kind, account)


def _link_target(link: Doc) -> NodeKey | None:
    attrs = _obj(link.get("attributes"))
    names = attrs.get("aws.xray.reserved.names")
    kind = attrs.get("aws.xray.reserved.type")
    if isinstance(names, list) and names and isinstance(names[0], str):
        return NodeKey(names[0], kind if isinstance(kind, str) else None)
    return None


def _links(entity: Doc) -> Iterator[Doc]:
    links = entity.get("links")
    if isinstance(links, list):
        yield from (link for link in links if isinstance(link, dict))


LinkResolver = Callable[[str, str], "NodeKey | None"]


def trace_graph(segments: Sequence[Doc], resolve_link: LinkResolver | None = None) -> TraceGraph:
    """Nodes and edges of one assembled trace (``assemble(...).segments``).

    ``resolve_link(trace_id, id)`` names the node of a linked document when
    the link carries no reserved name attributes; without it such links
    are left out.
    """
    real = [s for s in segments if not s.get("inferred") and s.get("type") != "subsegment"]
    owner: dict[str, Doc] = {}  # entity id -> the real segment that contains it
    entity_by_id: dict[str, Doc] = {}
    linking: list[tuple[Doc, Doc]] = []  # (segment, entity) for entities with links
    for seg in real:
        for entity in walk(seg):
            key = str(entity.get("id"))
            owner.setdefault(key, seg)
            entity_by_id.setdefault(key, entity)
            if "links" in entity:
                linking.append((seg, entity))
    keys = {id(seg): segment_node(seg) for seg in real}
    graph = TraceGraph([], [], [], [])
    entries = [s for s in real if not s.get("parent_id")]
    if not entries:  # the caller never reported: the earliest unattached segment serves the request
        unattached = [s for s in real if str(s.get("parent_id")) not in owner]
        entries = [min(unattached, key=lambda s: _number(s.get("start_time")) or 0.0)] if unattached else []
    entry_ids = {id(s) for s in entries}
    for seg in real:
        node = keys[id(seg)]
        request = _request(seg)
        if request is not None:
            graph.nodes.append(NodeSample(node, request, inferred=False))
        parent_id = seg.get("parent_id")
        caller = owner.get(str(parent_id)) if parent_id else None
        if caller is None or caller is seg:
            if id(seg) not in entry_ids:
                continue  # its caller's documents never arrived: no edge to invent
            client = NodeKey(node.name, CLIENT)
            if client not in graph.client_nodes:
                graph.client_nodes.append(client)
            if node not in graph.roots:
                graph.roots.append(node)
            if request is not None:
                graph.edges.append(EdgeSample(client, node, request))
            continue
        parent = entity_by_id[str(parent_id)]
        if parent is caller:  # AWS::Lambda -> AWS::Lambda::Function: only the callee measured it
            if request is not None:
                graph.edges.append(EdgeSample(keys[id(caller)], node, request))
            continue
        call = _request(parent)
        if call is None:
            continue
        alias = None
        if parent.get("namespace") in ("aws", "remote"):
            named = called_node(parent)
            if (named.name, named.type) != (node.name, node.type):
                alias = named
        graph.edges.append(EdgeSample(keys[id(caller)], node, call, alias=alias))
    for doc in segments:
        if not doc.get("inferred"):
            continue
        sub = entity_by_id.get(str(doc.get("parent_id")))
        caller = owner.get(str(doc.get("parent_id")))
        if sub is None or caller is None:
            continue  # called from an orphaned subsegment: the caller is unknown
        call = _request(sub)
        if call is None:
            continue
        target = called_node(sub)
        graph.nodes.append(NodeSample(target, call, inferred=True))
        graph.edges.append(EdgeSample(keys[id(caller)], target, call))
    for seg, entity in linking:
        here = keys[id(seg)]
        for link in _links(entity):
            other = _link_target(link)
            if other is None and resolve_link is not None:
                other = resolve_link(str(link.get("trace_id", "")), str(link.get("id", "")))
            request = _request(entity)
            if other is None or request is None:
                continue
            attrs = _obj(link.get("attributes"))
            received = _number(attrs.get("aws.xray.reserved.received_event_end_time"))
            age = None
            if received is not None and request.end is not None:
                age = max(0.0, received - request.end)
            # Without a reference type a link says "caused by": the linked entity is the producer.
            child = attrs.get("aws.xray.reserved.reference_type", "parent") == "child"
            source, target = (here, other) if child else (other, here)
            graph.edges.append(EdgeSample(source, target, request, edge_type=LINK, event_age=age))
    return graph

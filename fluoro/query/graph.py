"""Per-trace graph samples → X-Ray ``Service`` lists, and the rollup rows in between.

Two paths meet here.  GetTraceGraph (and group-filtered graphs) feed
``TraceGraph``s from ``fluoro.query.nodes`` straight into a ``GraphBuilder``.
GetServiceGraph reads ``GraphRow``s the rollup stored per minute; a row is the
same statistics, for one node or edge (its ``key``), summed over a minute.
``rows_for`` turns a trace into such rows, so both paths count identically.

Histogram values are response times rounded to the millisecond (as in
X-Ray's published outputs); above one second they keep three significant
digits, so a minute's histogram stays small however busy the edge is.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable

import msgspec

from fluoro.query.nodes import CLIENT, ERROR, FAULT, LINK, OK, THROTTLE, NodeKey, Request, TraceGraph
from fluoro.store.api import GraphRow

MINUTE = 60


def bucket_ms(seconds: float) -> int:
    ms = int(round(seconds * 1000))
    if ms < 1000:
        return max(ms, 0)
    digits = int(math.log10(ms)) + 1
    scale = 10 ** (digits - 3)
    return int(round(ms / scale) * scale)


@dataclass
class Stats:
    """EdgeStatistics/ServiceStatistics plus a histogram, mergeable and subtractable."""

    ok: int = 0
    error: int = 0  # 4xx other than 429
    throttle: int = 0
    fault: int = 0
    total: int = 0
    response_time: float = 0.0
    samples: int = 0  # requests seen, complete or not: a key with none no longer exists
    first: float = math.inf
    last: float = -math.inf
    histogram: Counter[int] = field(default_factory=Counter)

    def add(self, request: Request, value: float | None = None) -> None:
        """Count ``request``; ``value`` (seconds) goes to the histogram instead of its response time."""
        self.samples += 1
        self.first = min(self.first, request.start)
        self.last = max(self.last, request.end if request.end is not None else request.start)
        elapsed = request.response_time
        if elapsed is None:
            return
        self.total += 1
        self.response_time += elapsed
        if request.outcome == OK:
            self.ok += 1
        elif request.outcome == ERROR:
            self.error += 1
        elif request.outcome == THROTTLE:
            self.throttle += 1
        elif request.outcome == FAULT:
            self.fault += 1
        hist_value = elapsed if value is None else value
        self.histogram[bucket_ms(hist_value)] += 1

    def merge(self, row: GraphRow | Stats) -> None:
        self.ok += row.ok
        self.error += row.error
        self.throttle += row.throttle
        self.fault += row.fault
        self.total += row.total
        self.response_time += row.response_time
        self.samples += row.samples
        self.first = min(self.first, row.first)
        self.last = max(self.last, row.last)
        for ms, n in row.histogram.items():
            self.histogram[ms] += n

    def summary(self) -> dict[str, Any]:
        return {
            "OkCount": self.ok,
            "ErrorStatistics": {"ThrottleCount": self.throttle, "OtherCount": self.error,
                                "TotalCount": self.throttle + self.error},
            "FaultStatistics": {"OtherCount": self.fault, "TotalCount": self.fault},
            "TotalCount": self.total,
            "TotalResponseTime": round(self.response_time, 6),
        }  # fmt: skip

    def histogram_entries(self) -> list[dict[str, Any]]:
        return [{"Value": ms / 1000, "Count": n} for ms, n in sorted(self.histogram.items()) if n > 0]

    def times(self) -> dict[str, float]:
        if not math.isfinite(self.first):
            return {}
        return {"StartTime": float(math.floor(self.first)), "EndTime": float(math.ceil(self.last))}


# Row keys: a node is ["n", name, type, account, inferred]; an edge is
# ["e", source node, target node, edge type, alias node or None].
def _node_json(key: NodeKey) -> list[Any]:
    return [key.name, key.type, key.account]


def _node_from(raw: list[Any]) -> NodeKey:
    return NodeKey(raw[0], raw[1], raw[2])


def node_row_key(node: NodeKey, inferred: bool) -> str:
    return msgspec.json.encode(["n", *_node_json(node), inferred]).decode()


def edge_row_key(source: NodeKey, target: NodeKey, edge_type: str | None, alias: NodeKey | None) -> str:
    raw = ["e", _node_json(source), _node_json(target), edge_type, _node_json(alias) if alias else None]
    return msgspec.json.encode(raw).decode()


def rows_for(graph: TraceGraph) -> list[GraphRow]:
    """A trace's contribution to the per-minute rollup."""
    acc: dict[tuple[int, str], Stats] = {}
    node_keys: dict[tuple[NodeKey, bool], str] = {}

    def stats(start: float, key: str) -> Stats:
        slot = (int(start // MINUTE) * MINUTE, key)
        found = acc.get(slot)
        if found is None:
            found = acc[slot] = Stats()
        return found

    for sample in graph.nodes:
        slot = (sample.node, sample.inferred)
        key = node_keys.get(slot)
        if key is None:
            key = node_keys[slot] = node_row_key(sample.node, sample.inferred)
        stats(sample.request.start, key).add(sample.request)
    for edge in graph.edges:
        key = edge_row_key(edge.source, edge.target, edge.edge_type, edge.alias)
        stats(edge.request.start, key).add(edge.request, edge.event_age if edge.edge_type == LINK else None)
    return [
        GraphRow(bucket, key, s.ok, s.error, s.throttle, s.fault, s.total, s.response_time, s.samples,
                 s.first, s.last, dict(s.histogram))
        for (bucket, key), s in acc.items()
    ]  # fmt: skip


@dataclass
class _Node:
    stats: Stats = field(default_factory=Stats)
    inferred: bool = True  # until a real segment shows it is not


@dataclass
class _Edge:
    stats: Stats = field(default_factory=Stats)
    aliases: set[NodeKey] = field(default_factory=set)


class GraphBuilder:
    """Accumulates nodes and edges, from traces or rollup rows, into ``Services``."""

    def __init__(self) -> None:
        self.nodes: dict[NodeKey, _Node] = {}
        self.edges: dict[tuple[NodeKey, NodeKey, str | None], _Edge] = {}

    def _node(self, key: NodeKey) -> _Node:
        found = self.nodes.get(key)
        if found is None:
            found = self.nodes[key] = _Node()
        return found

    def _edge(self, source: NodeKey, target: NodeKey, edge_type: str | None) -> _Edge:
        self._node(source)
        self._node(target)
        slot = (source, target, edge_type)
        found = self.edges.get(slot)
        if found is None:
            found = self.edges[slot] = _Edge()
        return found

    def add_trace(self, graph: TraceGraph) -> None:
        for sample in graph.nodes:
            node = self._node(sample.node)
            node.stats.add(sample.request)
            node.inferred = node.inferred and sample.inferred
        for key in graph.client_nodes:
            self._node(key)
        for e in graph.edges:
            edge = self._edge(e.source, e.target, e.edge_type)
            edge.stats.add(e.request, e.event_age if e.edge_type == LINK else None)
            if e.alias is not None:
                edge.aliases.add(e.alias)

    def add_row(self, row: GraphRow) -> None:
        raw = msgspec.json.decode(row.key)
        if raw[0] == "n":
            node = self._node(NodeKey(raw[1], raw[2], raw[3]))
            node.stats.merge(row)
            node.inferred = node.inferred and bool(raw[4])
            return
        edge = self._edge(_node_from(raw[1]), _node_from(raw[2]), raw[3])
        edge.stats.merge(row)
        if raw[4] is not None:
            edge.aliases.add(_node_from(raw[4]))

    def services(self) -> list[dict[str, Any]]:
        edges = {k: e for k, e in self.edges.items() if e.stats.samples > 0}
        keys = {k for k, n in self.nodes.items() if n.stats.samples > 0 or k.type == CLIENT}
        for source, target, _ in edges:
            keys.update((source, target))
        keys = {k for k in keys if k.type != CLIENT or any(s == k for s, _, _ in edges)}
        order = sorted(keys, key=lambda k: (k.name, k.type or "", k.account or ""))
        ref = {key: i for i, key in enumerate(order)}
        roots = {target for source, target, _ in edges if source.type == CLIENT}
        out = []
        for key in order:
            node = self.nodes.get(key) or _Node()
            service: dict[str, Any] = {"ReferenceId": ref[key], "Name": key.name, "Names": [key.name]}
            if key in roots:
                service["Root"] = True
            if key.account:
                service["AccountId"] = key.account
            if key.type:
                service["Type"] = key.type
            real = not node.inferred and key.type != CLIENT
            service["State"] = "active" if real else "unknown"
            own = [(slot, e) for slot, e in edges.items() if slot[0] == key]
            span = Stats()
            span.merge(node.stats)
            for _, e in own:
                span.first, span.last = min(span.first, e.stats.first), max(span.last, e.stats.last)
            service.update(span.times())
            service["Edges"] = [self._edge_out(ref[target], edge_type, e) for (_, target, edge_type), e in
                                sorted(own, key=lambda item: (ref[item[0][1]], item[0][2] or ""))]  # fmt: skip
            if key.type != CLIENT:
                service["SummaryStatistics"] = node.stats.summary()
                histogram = node.stats.histogram_entries()
                service["DurationHistogram"] = histogram
                service["ResponseTimeHistogram"] = histogram
            out.append(service)
        return out

    @staticmethod
    def _edge_out(target: int, edge_type: str | None, edge: _Edge) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ReferenceId": target,
            **edge.stats.times(),
            "SummaryStatistics": edge.stats.summary(),
        }
        if edge_type == LINK:
            out["EdgeType"] = LINK
            out["ReceivedEventAgeHistogram"] = edge.stats.histogram_entries()
        else:
            out["ResponseTimeHistogram"] = edge.stats.histogram_entries()
        out["Aliases"] = [
            {"Name": a.name, "Names": [a.name], **({"Type": a.type} if a.type else {})}
            for a in sorted(edge.aliases, key=lambda a: (a.name, a.type or "", a.account or ""))
        ]
        return out


def services_from_traces(graphs: Iterable[TraceGraph]) -> list[dict[str, Any]]:
    builder = GraphBuilder()
    for graph in graphs:
        builder.add_trace(graph)
    return builder.services()

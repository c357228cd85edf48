"""GetServiceGraph, GetTraceGraph and GetTimeSeriesServiceStatistics over a store.

Unfiltered graphs and statistics read the per-minute rollup
(``fluoro.query.rollup``), so their cost follows the number of nodes, edges
and minutes, not the number of segments.  A group's filter restricts the
traces, and the rollup cannot know which traces a filter keeps, so filtered
requests assemble the matching traces instead (at most ``max_traces``).
Rollup windows are whole minutes: a request covers every minute that
overlaps ``[StartTime, EndTime)``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable, Protocol

import msgspec

from fluoro.query.assemble import assemble
from fluoro.query.filters import FilterError, parse
from fluoro.query.filters.parser import GroupResolver
from fluoro.query.filters.search import matching_traces
from fluoro.query.graph import GraphBuilder, Stats, rows_for
from fluoro.query.nodes import CLIENT, NodeKey, TraceGraph, trace_graph
from fluoro.query.rollup import store_link_resolver
from fluoro.query.selector import Selector, SelectorError, parse_selector
from fluoro.query.service import InvalidQuery, _number, _valid_trace_id
from fluoro.store.api import FilterUnsupported, GraphRow, GraphStore, StoredDocument, TraceReader

MAX_TRACE_GRAPH_IDS = 5
PERIODS = (60, 300)


class GraphReader(GraphStore, TraceReader, Protocol):
    pass


def _window(body: dict[str, Any]) -> tuple[float, float]:
    start, end = _number(body, "StartTime"), _number(body, "EndTime")
    if end < start:
        raise InvalidQuery("EndTime must not be before StartTime")
    if body.get("NextToken"):
        raise InvalidQuery("NextToken is not supported: this server returns every result in one page")
    return start, end


class GraphQueries:
    def __init__(self, store: GraphReader, max_traces: int = 10_000, groups: GroupResolver | None = None) -> None:
        self.store = store
        self.max_traces = max_traces
        self.groups = groups  # resolves group.name/group.arn inside a group's own filter

    # ---- the trace path (GetTraceGraph, group filters)
    def _graphs(self, docs: Iterable[StoredDocument]) -> list[tuple[str, TraceGraph]]:
        by_trace: dict[str, list[StoredDocument]] = defaultdict(list)
        for stored in docs:
            by_trace[stored.trace_id].append(stored)
        resolve = store_link_resolver(self.store)
        return [(tid, trace_graph(assemble(tid, found).segments, resolve)) for tid, found in by_trace.items()]

    def _filtered_rows(self, start: float, end: float, text: str, period: int | None) -> list[GraphRow]:
        try:
            node = parse(text, self.groups)
        except FilterError as exc:
            raise InvalidQuery(f"The group's filter expression is invalid: {exc}") from None
        resolve = store_link_resolver(self.store)
        graphs: list[TraceGraph] = []
        try:
            for _, trace in matching_traces(self.store, start, end, node, max_traces=self.max_traces):
                graphs.append(trace_graph(trace.segments, resolve))
        except FilterUnsupported as exc:
            raise InvalidQuery(f"The group's filter expression uses {exc}, which this store does not support") from None
        sums: dict[tuple[int, str], Stats] = {}
        for graph in graphs:
            for row in rows_for(graph):
                if not (row.bucket < end and row.bucket + 60 > start):
                    continue
                bucket = (row.bucket // period) * period if period else int(start // 60) * 60
                sums.setdefault((bucket, row.key), Stats()).merge(row)
        return [
            GraphRow(b, k, s.ok, s.error, s.throttle, s.fault, s.total, s.response_time, s.samples, s.first, s.last,
                     dict(s.histogram))
            for (b, k), s in sums.items()
        ]  # fmt: skip

    def _rows(
        self, start: float, end: float, group_filter: str | None, period: int | None, selector: Any = None
    ) -> list[GraphRow]:
        if group_filter:
            rows = self._filtered_rows(start, end, group_filter, period)
            return rows if selector is None else [r for r in rows if _selected(r.key, selector[0])]
        if selector is None:
            return self.store.graph_rows(start, end, period)
        keys = [k for k in self.store.graph_keys(start, end) if _selected(k, selector[0])]
        return self.store.graph_rows(start, end, period, keys) if keys else []

    # ---- operations
    def get_service_graph(self, body: dict[str, Any], group_filter: str | None = None) -> dict[str, Any]:
        start, end = _window(body)
        builder = GraphBuilder()
        for row in self._rows(start, end, group_filter, None):
            builder.add_row(row)
        return {
            "StartTime": start,
            "EndTime": end,
            "Services": builder.services(),
            "ContainsOldGroupVersions": False,
        }

    def get_trace_graph(self, body: dict[str, Any]) -> dict[str, Any]:
        ids = body.get("TraceIds")
        if body.get("NextToken"):
            raise InvalidQuery("NextToken is not supported: this server returns every result in one page")
        if not isinstance(ids, list) or not ids:
            raise InvalidQuery("TraceIds is required and must be a non-empty list of trace ids")
        if len(ids) > MAX_TRACE_GRAPH_IDS:
            raise InvalidQuery(f"Exceeding maximum query size: {MAX_TRACE_GRAPH_IDS}")
        for trace_id in ids:
            if not _valid_trace_id(trace_id):
                raise InvalidQuery(f"Invalid trace id {trace_id}: incorrect id format")
        builder = GraphBuilder()
        for _, graph in self._graphs(self.store.documents(sorted(set(ids)))):
            builder.add_trace(graph)
        return {"Services": builder.services()}

    def get_time_series_service_statistics(
        self, body: dict[str, Any], group_filter: str | None = None
    ) -> dict[str, Any]:
        start, end = _window(body)
        period = body.get("Period", 60)
        if period is None:
            period = 60
        if isinstance(period, bool) or not isinstance(period, int) or period not in PERIODS:
            raise InvalidQuery("Time period must be one of [60, 300]")
        text = body.get("EntitySelectorExpression")
        selector: Selector | None = None
        if text is not None:
            if not isinstance(text, str) or not text.strip():
                raise InvalidQuery("EntitySelectorExpression must be a non-empty string")
            try:
                selector = parse_selector(text)
            except SelectorError as exc:
                raise InvalidQuery(f"Invalid EntitySelectorExpression: {exc}") from None
        edge_mode = selector is None or selector.is_edge
        buckets: dict[int, Stats] = {}
        for row in self._rows(start, end, group_filter, period, (selector,)):
            buckets.setdefault(row.bucket, Stats()).merge(row)
        out = []
        for bucket in sorted(buckets):
            stats = buckets[bucket]
            if stats.samples == 0:
                continue
            summary = stats.summary()
            entry: dict[str, Any] = {"Timestamp": float(bucket)}
            if edge_mode:
                entry["EdgeSummaryStatistics"] = summary
            else:
                entry["ServiceSummaryStatistics"] = summary
            entry["ResponseTimeHistogram"] = stats.histogram_entries()
            out.append(entry)
        return {"TimeSeriesServiceStatistics": out, "ContainsOldGroupVersions": False}


def _selected(key: str, selector: Selector | None) -> bool:
    raw = msgspec.json.decode(key)
    if selector is None:  # no selector: the edges out of client nodes (botocore's documentation)
        return raw[0] == "e" and raw[1][1] == CLIENT
    if selector.source is not None:
        if raw[0] != "e" or raw[3] is not None:
            return False
        return selector.source.matches(NodeKey(*raw[1])) and selector.target.matches(NodeKey(*raw[2]))
    return raw[0] == "n" and raw[2] != CLIENT and selector.target.matches(NodeKey(raw[1], raw[2], raw[3]))

"""All traces of a time range that a filter selects: the store's part in SQL, the rest in Python.

For callers that need every matching trace rather than a page of summaries
(a group's service graph, statistics filtered by a group).  Candidates the
rollup's node facts rule out (``narrow``) are never read.  GetTraceSummaries
pages itself (``QueryService._search``) under the same split.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterator

from fluoro.query.assemble import Trace, assemble
from fluoro.query.filters.ast import Node, split
from fluoro.query.filters.evaluate import matches
from fluoro.query.filters.narrow import narrowing
from fluoro.store.api import StoredDocument, TimeRangeType, TraceHit, TraceQuery, TraceReader


def matching_traces(
    reader: TraceReader,
    start: float,
    end: float,
    node: Node | None,
    range_type: TimeRangeType = TimeRangeType.TRACE_ID,
    max_traces: int | None = None,
    chunk: int = 500,
) -> Iterator[tuple[TraceHit, Trace]]:
    """Newest first, every (hit, assembled trace) that ``node`` selects, at most ``max_traces``.

    Raises ``fluoro.store.api.FilterUnsupported`` only if the store refuses a node its own
    capabilities claim.
    """
    capabilities = reader.capabilities()
    pushed, residual = split(node, capabilities.filter_nodes)
    narrow = narrowing(residual) if capabilities.narrows else None
    query = TraceQuery(start, end, range_type, pushed, limit=chunk, narrow=narrow)
    found = 0
    while True:
        page = reader.find_traces(query)
        by_trace: dict[str, list[StoredDocument]] = {}
        for stored in reader.documents([h.trace_id for h in page.hits]):
            by_trace.setdefault(stored.trace_id, []).append(stored)
        for hit in page.hits:
            if hit.trace_id not in by_trace:
                continue
            trace = assemble(hit.trace_id, by_trace[hit.trace_id])
            if residual is None or matches(residual, trace):
                yield hit, trace
                found += 1
                if max_traces is not None and found >= max_traces:
                    return
        if not page.more or not page.hits:
            return
        query = replace(query, after=(page.hits[-1].sort_time, page.hits[-1].trace_id))

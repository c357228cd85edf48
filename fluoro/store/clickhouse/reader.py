"""Reads: documents by trace id, and newest-first trace search.

Rows are never deleted or updated in place (ClickHouse mutations are heavy),
so reads resolve versions themselves: a complete document hides in-progress
copies of the same segment, and retried batches (exact duplicates) collapse.
Trace ids embed their start second, which leads the sorting key, so a by-id
lookup reads a few granules through the primary index.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

from fluoro.store.api import StoredDocument, TimeRangeType, TraceHit, TracePage, TraceQuery, trace_key
from fluoro.store.clickhouse.filter_sql import bind, compile_filter

Execute = Callable[[str, list[Any]], list[tuple[Any, ...]]]

_ROOT_FIELDS = ("st", "et", "fault", "error", "throttle", "status", "method", "url", "ua", "ip")
# The root segment ranks first (then the earliest); a subsegment document last.  A tuple
# keeps NULL members (argMin would skip a NULL argument).
_ROOT = (
    "argMin(tuple(start_time, end_time, fault, error, throttle, http_status, http_method, http_url, user_agent,"
    " client_ip), multiIf(is_sub = 1, 4e12 + start_time, isNull(parent_id), start_time, 2e12 + start_time))"
    " AS root, "
    + ", ".join(f"tupleElement(root, {i + 1}) AS root_{name}" for i, name in enumerate(_ROOT_FIELDS))
)
_AGGREGATES = (
    "max(ifNull(end_time, start_time)) - min(start_time) AS duration, "
    f"{_ROOT}, root_et - root_st AS response_time, max(in_progress) AS partial, max(any_throttle) AS any_throttle"
)
# One version per segment id, as DuckDB keeps them: a complete document hides the
# in-progress ones (rows are never deleted here), and exact duplicates collapse.
_VERSION_COLUMNS = ("parent_id", "is_sub", "in_progress", "trace_time", "start_time", "end_time", "fault", "error",
                    "throttle", "any_throttle", "http_status", "http_method", "http_url", "user_agent", "client_ip")  # fmt: skip


def _versions(segments: str, where: str) -> str:
    return (
        f"(SELECT trace_key, trace_id, id, {', '.join(_VERSION_COLUMNS)} FROM {segments} WHERE {where}"
        " ORDER BY in_progress LIMIT 1 BY trace_key, trace_id, id)"
    )


def read_documents(execute: Execute, segments: str, trace_ids: Sequence[str]) -> list[StoredDocument]:
    ids = sorted(set(trace_ids))
    if not ids:
        return []
    times = sorted({int(t[2:10], 16) for t in ids})
    rows = execute(
        f"SELECT trace_id, id, in_progress, received, doc FROM {segments}"
        " WHERE trace_time IN ? AND trace_key IN ?",
        [tuple(times), tuple(trace_key(t) for t in ids)],
    )
    wanted = set(ids)
    complete = {(r[0], r[1]) for r in rows if not r[2] and r[0] in wanted}
    seen: set[tuple[str, str, int, float]] = set()
    out = []
    for trace_id, seg_id, in_progress, received, doc in rows:
        if trace_id not in wanted or (in_progress and (trace_id, seg_id) in complete):
            continue
        key = (trace_id, seg_id, in_progress, received)
        if key in seen:
            continue
        seen.add(key)
        data = doc if isinstance(doc, bytes) else doc.encode()
        out.append(StoredDocument(trace_id, seg_id, bool(in_progress), float(received), data))
    return out


def find_traces(execute: Execute, segments: str, annotations: str, query: TraceQuery,
                global_in: bool = False) -> TracePage:  # fmt: skip
    start, end = query.start, query.end
    if query.range_type is TimeRangeType.TRACE_ID:
        window, wparams = "trace_time >= ? AND trace_time < ?", [math.floor(start), float(end)]
        rows_where, rows_params = window, list(wparams)
        if query.after is not None:
            rows_where += " AND trace_time <= ?"
            rows_params.append(float(query.after[0]))
        compiled = compile_filter(query.filter, segments, annotations, window, wparams, global_in)
        for sql, sql_params in compiled.prefilters:
            rows_where += f" AND {sql}"
            rows_params.extend(sql_params)
        agg = (
            f"SELECT trace_key, trace_id, toFloat64(max(trace_time)) AS sort_time, {_AGGREGATES}"
            f" FROM {_versions(segments, rows_where)} GROUP BY trace_key, trace_id"
        )
        params: list[Any] = rows_params
    else:
        if query.range_type is TimeRangeType.EVENT:
            cand_where = "start_time < ? AND ifNull(end_time, start_time) >= ?"
            cand_params: list[Any] = [float(end), float(start)]
            sort = "max(ifNull(end_time, start_time))"
        else:
            cand_where = "end_time >= ? AND end_time < ?"
            cand_params = [float(start), float(end)]
            sort = "max(assumeNotNull(end_time))"
        compiled = compile_filter(query.filter, segments, annotations, "1", [], global_in)
        in_op = "GLOBAL IN" if global_in else "IN"
        # Candidates first (small), then every row of those traces for the aggregates.
        cand = (
            f"SELECT trace_key, trace_id, least({sort}, ?) AS sort_time FROM {segments}"
            f" WHERE {cand_where} GROUP BY trace_key, trace_id"
        )
        rows_of_candidates = f"(trace_key, trace_id) {in_op} (SELECT trace_key, trace_id FROM ({cand}))"
        agg = (
            f"SELECT trace_key, trace_id, {_AGGREGATES} FROM {_versions(segments, rows_of_candidates)}"
            " GROUP BY trace_key, trace_id"
        )
        agg = f"SELECT * FROM ({agg}) ANY INNER JOIN ({cand}) USING (trace_key, trace_id)"
        params = [float(end), *cand_params, float(end), *cand_params]
    where = compiled.where
    final_params = params + compiled.params
    if query.after is not None:
        where += " AND (sort_time < ? OR (sort_time = ? AND trace_id < ?))"
        final_params += [float(query.after[0]), float(query.after[0]), query.after[1]]
    sql = (
        f"SELECT trace_id, sort_time FROM ({agg}) WHERE {where}"
        " ORDER BY sort_time DESC, trace_id DESC LIMIT ?"
    )
    final_params.append(query.limit + 1)
    rows = execute(sql, final_params)
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    matched = query.range_type is not TimeRangeType.TRACE_ID
    hits = [TraceHit(str(r[0]), float(r[1]), float(r[1]) if matched else None) for r in rows]
    return TracePage(hits, _processed(execute, segments, query, hits, more), more)


def _processed(execute: Execute, segments: str, query: TraceQuery, hits: list[TraceHit], more: bool) -> int:
    """Traces looked at for this page, matching or not, counted by their root segments."""
    upper = query.after[0] if query.after else query.end
    lower = hits[-1].sort_time if (hits and more) else query.start
    if query.range_type is TimeRangeType.TRACE_ID:
        cond, params = "trace_time >= ? AND trace_time <= ?", [math.floor(lower), float(upper)]
    elif query.range_type is TimeRangeType.EVENT:
        cond, params = "ifNull(end_time, start_time) >= ? AND start_time <= ?", [float(lower), float(upper)]
    else:
        cond, params = "end_time >= ? AND end_time <= ?", [float(lower), float(upper)]
    rows = execute(
        f"SELECT uniqExact(trace_key, id) FROM {segments} WHERE {cond} AND isNull(parent_id) AND is_sub = 0",
        params,
    )
    return max(int(rows[0][0]) if rows else 0, len(hits))


def run(client: Any, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    """Execute ``sql`` with ``?`` parameters on a clickhouse-driver client."""
    text, named = bind(sql, params)
    return list(client.execute(text, named))

"""Reads: documents by trace id, and newest-first trace search.

Each call takes its own cursor, so readers run concurrently with the writer.
Trace ids embed their start second, so every by-id lookup is also bounded by
``trace_time``: row groups outside those seconds are skipped via min/max.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import duckdb
import pyarrow as pa

from fluoro.store.api import StoredDocument, TimeRangeType, TraceHit, TracePage, TraceQuery, trace_key
from fluoro.store.duckdb.doc_markers import unpack
from fluoro.store.duckdb.filter_sql import compile_filter
from fluoro.store.duckdb.narrow_sql import narrow_condition

_ROOT = (
    "arg_min({'st': start_time, 'et': end_time, 'fault': fault, 'error': error, 'throttle': throttle,"
    " 'status': http_status, 'method': http_method, 'url': http_url, 'ua': user_agent, 'ip': client_ip},"
    " CASE WHEN is_sub THEN 4e12 + start_time WHEN parent_id IS NULL THEN start_time"
    " ELSE 2e12 + start_time END)"
)
_AGGREGATES = (
    "max(coalesce(end_time, start_time)) - min(start_time) AS duration, "
    f"{_ROOT} AS root, bool_or(in_progress) AS partial, bool_or(any_throttle) AS any_throttle"
)


def _placeholders(n: int) -> str:
    return ", ".join("?" * n)


def read_documents(conn: duckdb.DuckDBPyConnection, trace_ids: Sequence[str]) -> list[StoredDocument]:
    ids = sorted(set(trace_ids))
    if not ids:
        return []
    times = [int(t[2:10], 16) for t in ids]
    # Semi-joins on list parameters become hash joins; the integer key does the
    # scanning, the string comparison only confirms (a 64-bit collision is possible).
    rows = conn.execute(
        "SELECT trace_id, id, in_progress, received, chunk, off, len, parent_id, start_time, end_time FROM segments"
        " WHERE trace_time BETWEEN ? AND ? AND trace_key IN (SELECT unnest(?::BIGINT[]))",
        [min(times), max(times), [trace_key(t) for t in ids]],
    ).fetchall()
    wanted = set(ids)
    rows = [r for r in rows if r[0] in wanted]
    chunks = sorted({int(r[4]) for r in rows})
    blobs: dict[int, bytes] = {}
    if chunks:
        for chunk, raw_size, data in conn.execute(
            "SELECT chunk, raw_size, data FROM chunks WHERE chunk BETWEEN ? AND ?"
            " AND chunk IN (SELECT unnest(?::BIGINT[]))",
            [chunks[0], chunks[-1], chunks],
        ).fetchall():
            blobs[int(chunk)] = pa.decompress(data, int(raw_size), codec="zstd", asbytes=True)
    out = []
    for trace_id, seg_id, in_progress, received, chunk, off, length, parent_id, start, end in rows:
        blob = blobs.get(int(chunk))
        if blob is None:
            continue
        doc = unpack(blob[off : off + length], trace_id, seg_id, parent_id, start, end)
        out.append(StoredDocument(trace_id, seg_id, bool(in_progress), float(received), doc))
    return out


def find_traces(conn: duckdb.DuckDBPyConnection, query: TraceQuery) -> TracePage:
    start, end = query.start, query.end
    if query.range_type is TimeRangeType.TRACE_ID:
        window, wparams = "trace_time >= ? AND trace_time < ?", [math.floor(start), end]
        rows_where, rows_params = window, list(wparams)
        if query.after is not None:
            rows_where += " AND trace_time <= ?"
            rows_params.append(query.after[0])
        sort = "max(trace_time)::DOUBLE"
        compiled = compile_filter(query.filter, window, wparams)
        for sql, sql_params in compiled.prefilters:
            rows_where += f" AND {sql}"
            rows_params.extend(sql_params)
        narrowed = None
        if query.narrow is not None:
            # Sorted by trace_time alone when no filter is pushed: only the newest candidates count.
            need = query.limit + 1 if query.filter is None else None
            before = query.after[0] if query.after is not None else None
            narrowed = narrow_condition(conn, query.narrow, window, wparams, need, before)
        if narrowed is not None:
            rows_where += f" AND {narrowed[0]}"
            rows_params.extend(narrowed[1])
        agg = (
            f"SELECT trace_key, trace_id, {sort} AS sort_time, {_AGGREGATES} FROM segments"
            f" WHERE {rows_where} GROUP BY trace_key, trace_id"
        )
        params: list[Any] = rows_params
    else:
        event = query.range_type is TimeRangeType.EVENT
        if event:
            cand_where = "start_time < ? AND coalesce(end_time, start_time) >= ?"
            cand_params: list[Any] = [end, start]
            sort = "max(coalesce(end_time, start_time))"
        else:
            cand_where = "end_time >= ? AND end_time < ?"
            cand_params = [start, end]
            sort = "max(end_time)"
        compiled = compile_filter(query.filter, "TRUE", [])
        narrowed = narrow_condition(conn, query.narrow, "TRUE", []) if query.narrow is not None else None
        if narrowed is not None:
            cand_where += f" AND {narrowed[0]}"
            cand_params.extend(narrowed[1])
        cand = (
            f"SELECT trace_key, trace_id, least({sort}, ?) AS sort_time FROM segments"
            f" WHERE {cand_where} GROUP BY trace_key, trace_id"
        )
        agg = (
            f"SELECT s.trace_key, s.trace_id, any_value(c.sort_time) AS sort_time, {_AGGREGATES} FROM segments s"
            f" JOIN ({cand}) c ON c.trace_key = s.trace_key AND c.trace_id = s.trace_id"
            " GROUP BY s.trace_key, s.trace_id"
        )
        params = [end, *cand_params]
    where = compiled.where
    final_params = params + compiled.params
    if query.after is not None:
        where += " AND (t.sort_time < ? OR (t.sort_time = ? AND t.trace_id < ?))"
        final_params += [query.after[0], query.after[0], query.after[1]]
    sql = (
        f"WITH a AS ({agg}), t AS (SELECT *, root.et - root.st AS response_time FROM a)"
        f" SELECT t.trace_id, t.sort_time FROM t WHERE {where}"
        " ORDER BY t.sort_time DESC, t.trace_id DESC LIMIT ?"
    )
    final_params.append(query.limit + 1)
    rows = conn.execute(sql, final_params).fetchall()
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    matched = query.range_type is not TimeRangeType.TRACE_ID
    hits = [TraceHit(str(r[0]), float(r[1]), float(r[1]) if matched else None) for r in rows]
    return TracePage(hits, _processed(conn, query, hits, more), more)


def _processed(conn: duckdb.DuckDBPyConnection, query: TraceQuery, hits: list[TraceHit], more: bool) -> int:
    """Traces looked at for this page, matching or not, counted by their root segments."""
    upper = query.after[0] if query.after else query.end
    lower = hits[-1].sort_time if (hits and more) else query.start
    if query.range_type is TimeRangeType.TRACE_ID:
        cond, params = "trace_time >= ? AND trace_time <= ?", [math.floor(lower), upper]
    elif query.range_type is TimeRangeType.EVENT:
        cond, params = "coalesce(end_time, start_time) >= ? AND start_time <= ?", [lower, upper]
    else:
        cond, params = "end_time >= ? AND end_time <= ?", [lower, upper]
    row = conn.execute(
        f"SELECT count(*) FROM segments WHERE {cond} AND parent_id IS NULL AND NOT is_sub", params
    ).fetchone()
    return max(int(row[0]) if row else 0, len(hits))

"""Reads: documents by trace id, and newest-first trace search.

Each call takes its own cursor, so readers run concurrently with the writer.
Trace ids embed their start second, so every by-id lookup is also bounded by
``trace_time``: row groups outside those seconds are skipped via min/max.

Trace search reads the per-trace table (``trace_table``) for traces summarized
as of its watermark and aggregates the rest live, in one snapshot; see
``find_traces``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import duckdb
import pyarrow as pa

from fluoro.store.api import StoredDocument, TimeRangeType, TraceHit, TracePage, TraceQuery
from fluoro.store.doc_markers import needs_parent, restore_parent, unpack
from fluoro.store.duckdb import graph, trace_table
from fluoro.store.duckdb.doc_dicts import Decompressors
from fluoro.store.duckdb.doc_files import DocFiles
from fluoro.store.duckdb.filter_sql import Compiled, compile_filter
from fluoro.store.duckdb.narrow_sql import narrow_condition
from fluoro.store.duckdb.trace_table import DERIVED

# Past this many traces with unsummarized documents (the summarizer catching up on an
# old file, or stopped), one live aggregate over the window is cheaper than the table
# plus a list of exceptions.
LIVE_ONLY_ABOVE = 50_000
# Newest-first pages read the table in slices of the sort column, newest first: a page of
# common traces is found in the first seconds.  Each next slice is sized from the matches
# seen so far (with ``_MARGIN`` to spare), at least ``_GROWTH`` times the last; a filter
# that matches rarely takes the rest of the window in one go.
_FIRST_SLICE = 10.0
_GROWTH = 4.0
_MARGIN = 2.0
_ORDER = "ORDER BY sort_time DESC, trace_time DESC, hi DESC, trace_key DESC"
_AFTER = (
    " AND (t.sort_time < ? OR (t.sort_time = ? AND (t.trace_time < ? OR (t.trace_time = ?"
    " AND (t.hi < ? OR (t.hi = ? AND t.trace_key < ?))))))"
)
_DONE = "CASE WHEN partial THEN last_done ELSE last_end END"


# Semi-joins on list parameters become hash joins whose keys are pushed into the scan as
# filters: the seconds (cheap to test, and min/max skip row groups) first, then the 64-bit
# key; (trace_time, hi) then confirm the rest of the id.
_BY_IDS = "trace_time IN (SELECT unnest(?::BIGINT[])) AND trace_key IN (SELECT unnest(?::BIGINT[]))"


def _placeholders(n: int) -> str:
    return ", ".join("?" * n)


def read_documents(
    conn: duckdb.DuckDBPyConnection, trace_ids: Sequence[str], decompressors: Decompressors, files: DocFiles | None
) -> list[StoredDocument]:
    wanted = {trace_table.id_parts(t): t for t in set(trace_ids)}
    if not wanted:
        return []
    rows = conn.execute(
        "SELECT trace_time, hi, trace_key, id, in_progress, received, chunk, off, len, start_time, end_time,"
        f" chunk_raw, chunk_dict, chunk_file, chunk_pos, chunk_size FROM segments WHERE {_BY_IDS}"
        " ORDER BY chunk, off",  # written order: of two versions received together, the later wins
        ids_params := [sorted({tt for tt, _, _ in wanted}), sorted({key for _, _, key in wanted})],
    ).fetchall()
    found = [r for r in rows if (r[0], r[1], r[2]) in wanted]
    # Every chunk the rows need: (raw size, dictionary), and its compressed bytes.
    codec = {r[6]: (r[11], r[12]) for r in found if r[13] is not None}
    outside = {r[6]: (r[13], r[14], r[15]) for r in found if r[13] is not None}
    data: dict[int, bytes | None] = {}
    if outside and files is not None:
        data.update(zip(outside, files.read(list(outside.values()))))
    inline = sorted({r[6] for r in found if r[13] is None})
    if inline:  # an in-memory store, or rows written before segments named their chunk's place
        in_files: dict[int, tuple[int, int, int]] = {}
        for chunk, raw_size, dict_id, blob, number, pos, size in conn.execute(
            "SELECT chunk, raw_size, dict, data, file, pos, size FROM chunks WHERE chunk BETWEEN ? AND ?"
            " AND chunk IN (SELECT unnest(?::BIGINT[]))",
            [inline[0], inline[-1], inline],
        ).fetchall():
            codec[chunk] = (raw_size, dict_id)
            if number is not None:
                in_files[chunk] = (number, pos, size)
            else:
                data[chunk] = blob
        if in_files and files is not None:
            data.update(zip(in_files, files.read(list(in_files.values()))))
    blobs: dict[int, bytes] = {}
    for chunk, (raw_size, dict_id) in codec.items():
        blob = data.get(chunk)
        if blob is None:  # retention removed it while this read ran
            continue
        blobs[chunk] = (
            pa.decompress(blob, raw_size, codec="zstd", asbytes=True)
            if dict_id is None
            else decompressors.decompress(conn, dict_id, blob, raw_size)
        )
    out: list[StoredDocument] = []
    older: list[tuple[int, int, int]] = []  # (index in out, chunk, off) of documents with a parent marker
    for tt, hi, key, seg_id, in_progress, received, chunk, off, length, start, end, *_ in found:
        blob = blobs.get(chunk)
        if blob is None:
            continue
        trace_id = wanted[(tt, hi, key)]
        doc = unpack(blob[off : off + length], trace_id, seg_id, start, end)
        if needs_parent(doc):
            older.append((len(out), chunk, off))
        out.append(StoredDocument(trace_id, seg_id, bool(in_progress), float(received), doc))
    if older:
        parents = {
            (chunk, off): parent
            for chunk, off, parent in conn.execute(
                f"SELECT chunk, off, parent_id FROM segments WHERE {_BY_IDS} AND parent_id IS NOT NULL", ids_params
            ).fetchall()
        }
        for i, chunk, off in older:
            stored = out[i]
            doc = restore_parent(stored.doc, parents.get((chunk, off)))
            out[i] = StoredDocument(stored.trace_id, stored.id, stored.in_progress, stored.received, doc)
    return out


Row = tuple[int, int, int, float]  # trace_key, trace_time, hi, sort_time: the page order


@dataclass(frozen=True)
class _Keys:
    """A set of traces left in DuckDB as a subquery of (trace_key, trace_time), with its size
    and seconds.  Under ingest the traces not yet summarized are every trace of the last
    seconds (tens of thousands): as a Python list they cost ~60 ms per use as a parameter."""

    sql: str
    params: list[Any]
    count: int
    lo: int
    hi: int

    def member(self) -> tuple[str, list[Any]]:
        """`` trace_key IN (…)`` with its parameters, bounded by the set's seconds."""
        return (
            f"trace_time BETWEEN ? AND ? AND trace_key IN (SELECT trace_key FROM ({self.sql}))",
            [self.lo, self.hi, *self.params],
        )


def _keys(conn: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> _Keys:
    row = conn.execute(f"SELECT count(*), min(trace_time), max(trace_time) FROM ({sql})", params).fetchone()
    count = int(row[0]) if row else 0
    lo, hi = (int(row[1]), int(row[2])) if row and count else (0, -1)
    return _Keys(sql, params, count, lo, hi)


@dataclass(frozen=True)
class Marks:
    """How far the background jobs got, as committed: the summarizer's watermark (chunks
    whose traces are in ``traces``) and the rollup's cursor (traces with node facts)."""

    watermark: int
    graph_cursor: int


def read_marks(conn: duckdb.DuckDBPyConnection) -> Marks:
    return Marks(trace_table.watermark(conn), graph.cursor(conn))


def find_traces(conn: duckdb.DuckDBPyConnection, query: TraceQuery, marks: Marks) -> TracePage:
    """Newest-first traces of the window matching the filter, as of one snapshot.

    A trace with documents in chunks after the summarizer's watermark (and, for Event
    and Service windows, one whose documents straddle the window's end) is aggregated
    live from ``segments``; every other trace is read from ``traces``, whose row equals
    that aggregate (``trace_table``).  Table and segments are read in one transaction,
    so no trace is missed or counted twice.

    ``marks``: committed before this call (the store keeps the latest in memory rather
    than read ``meta`` here: that waits for a running checkpoint, up to ~0.6 s under
    ingest with DuckDB 2.0, where the other tables do not).  Any marks committed up to
    the snapshot are correct: older ones only aggregate more traces live and narrow fewer.
    """
    conn.execute("BEGIN TRANSACTION")
    try:
        return _find(conn, query, marks)
    finally:
        conn.execute("ROLLBACK")


Narrowed = tuple[str, list[Any]]


def _narrowed(
    conn: duckdb.DuckDBPyConnection, query: TraceQuery, window: str, wparams: list[Any], cursor: int
) -> Narrowed:
    """`` AND <condition on trace_key>`` keeping every candidate of ``query.narrow`` (service()
    and friends, from the rollup's node facts), or nothing to add."""
    if query.narrow is None:
        return "", []
    narrowed = narrow_condition(conn, query.narrow, window, wparams, cursor=cursor)
    return ("", []) if narrowed is None else (f" AND {narrowed[0]}", narrowed[1])


def _find(conn: duckdb.DuckDBPyConnection, query: TraceQuery, marks: Marks) -> TracePage:
    mark = marks.watermark
    start, end = query.start, query.end
    if query.range_type is TimeRangeType.TRACE_ID:
        window, wparams = "trace_time >= ? AND trace_time < ?", [math.floor(start), end]
        narrow = _narrowed(conn, query, window, wparams, marks.graph_cursor)
        # Up to ``end`` inclusive: TracesProcessedCount's range (``_processed``) reuses the list;
        # a trace at ``end`` itself is outside the window and filtered out by every query.
        dirty = _keys(
            conn,
            "SELECT DISTINCT trace_key, trace_time FROM segments WHERE chunk > ? AND trace_time >= ? AND trace_time <= ?",
            [mark, *wparams],
        )
        live = dirty
    else:
        narrow = _narrowed(conn, query, "TRUE", [], marks.graph_cursor)
        event = query.range_type is TimeRangeType.EVENT
        ends_after = "last_end >= ? AND first_start < ?" if event else f"last_end >= ? AND {_DONE} >= ? AND first_start < ?"
        dirty = _keys(conn, "SELECT DISTINCT trace_key, trace_time FROM segments WHERE chunk > ?", [mark])
        live = _keys(
            conn,
            f"{dirty.sql} UNION SELECT trace_key, trace_time FROM traces WHERE {ends_after}",
            [*dirty.params, *[end] * (2 if event else 3)],
        )
    if live.count > LIVE_ONLY_ABOVE:
        return _find_live(conn, query, narrow)
    rows = _live_rows(conn, query, live, narrow)
    rows += _table_rows(conn, query, dirty, narrow, marks.graph_cursor)
    rows.sort(reverse=True, key=lambda r: (r[3], r[1], r[2], r[0]))
    return _page(conn, query, rows, mark, dirty if query.range_type is TimeRangeType.TRACE_ID else None)


def _page(
    conn: duckdb.DuckDBPyConnection,
    query: TraceQuery,
    rows: list[Row],
    mark: int | None,
    dirty: _Keys | None = None,
) -> TracePage:
    """The first ``limit`` of ``rows`` (best first) as a page; ``mark``: the table's watermark, if read;
    ``dirty``: the window's traces with documents after it (TraceId windows), if known."""
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    matched = query.range_type is not TimeRangeType.TRACE_ID
    hits = [
        TraceHit(trace_table.trace_id(tt, hi, key), float(sort), float(sort) if matched else None)
        for key, tt, hi, sort in rows
    ]
    return TracePage(hits, _processed(conn, query, hits, more, mark, dirty), more)


def _after(query: TraceQuery) -> tuple[str, list[Any]]:
    if query.after is None:
        return "", []
    sort, (tt, hi, key) = query.after[0], trace_table.id_parts(query.after[1])
    return _AFTER, [sort, sort, tt, tt, hi, hi, key]


def _ranked(rows_sql: str, sort_sql: str, cond: str, compiled: Compiled, query: TraceQuery) -> tuple[str, list[Any]]:
    """Rows of ``rows_sql`` (trace rows) that match, best first, as (trace_key, trace_time, hi, sort_time)."""
    after, after_params = _after(query)
    return (
        f"SELECT trace_key, trace_time, hi, sort_time FROM (SELECT *, {DERIVED}, {sort_sql} AS sort_time"
        f" FROM ({rows_sql})) t WHERE {cond} AND {compiled.where}{after} {_ORDER} LIMIT ?"
    ), [*compiled.params, *after_params, query.limit + 1]


def _live_rows(conn: duckdb.DuckDBPyConnection, query: TraceQuery, keys: _Keys, narrow: Narrowed) -> list[Row]:
    """The traces in ``keys`` (by trace_key; trace_time bounds the scan), aggregated now."""
    if not keys.count:
        return []
    # A trace's segments and annotations all carry its trace_time: it bounds every scan.
    bounds, lo_hi = "trace_time BETWEEN ? AND ?", [keys.lo, keys.hi]
    member, member_params = keys.member()
    where = f"{member}{narrow[0]}"
    params: list[Any] = [*member_params, *narrow[1]]
    # Under ingest these are every trace of the last seconds: aggregate only those the
    # filter's semi-joins keep (an annotation's traces), not all of them.
    for sql, sql_params in compile_filter(query.filter, bounds, lo_hi).prefilters:
        where += f" AND {sql}"
        params.extend(sql_params)
    return _live(conn, query, where, params, (bounds, lo_hi))


def _live(
    conn: duckdb.DuckDBPyConnection, query: TraceQuery, where: str, params: list[Any], semi: tuple[str, list[Any]]
) -> list[Row]:
    """Trace rows aggregated now from the ``segments`` rows matching ``where``; ``semi`` bounds semi-joins."""
    start, end = query.start, query.end
    extra: list[tuple[str, str]] = []
    extra_params: list[Any] = []
    if query.range_type is TimeRangeType.TRACE_ID:
        where = f"trace_time >= ? AND trace_time < ? AND {where}"
        params = [math.floor(start), end, *params]
        if query.after is not None:
            where += " AND trace_time <= ?"
            params.append(query.after[0])
        sort, sort_params, cond = "trace_time::DOUBLE", [], "TRUE"
    else:
        # The trace's latest time inside the window, capped at its end (X-Ray's MatchedEventTime).
        if query.range_type is TimeRangeType.EVENT:
            latest = "max(coalesce(end_time, start_time)) FILTER (WHERE start_time < ? AND coalesce(end_time, start_time) >= ?)"
            extra_params = [end, start]
        else:
            latest = "max(end_time) FILTER (WHERE end_time >= ? AND end_time < ?)"
            extra_params = [start, end]
        extra = [("latest", latest)]
        sort, sort_params, cond = "least(latest, ?)", [end], "latest IS NOT NULL"
    compiled = compile_filter(query.filter, *semi)
    sql, ranked_params = _ranked(trace_table.live(where, extra), sort, cond, compiled, query)
    return [(int(r[0]), int(r[1]), int(r[2]), float(r[3]))
            for r in conn.execute(sql, [*sort_params, *extra_params, *params, *ranked_params]).fetchall()]  # fmt: skip


def _find_live(conn: duckdb.DuckDBPyConnection, query: TraceQuery, narrow: Narrowed) -> TracePage:
    """Every trace aggregated live (the table is far behind): the filter's semi-joins narrow the rows first."""
    start, end = query.start, query.end
    if query.range_type is TimeRangeType.TRACE_ID:
        semi: tuple[str, list[Any]] = ("trace_time >= ? AND trace_time < ?", [math.floor(start), end])
        where, params = "TRUE", []
    else:
        semi = ("TRUE", [])
        if query.range_type is TimeRangeType.EVENT:
            cand: tuple[str, list[Any]] = ("start_time < ? AND coalesce(end_time, start_time) >= ?", [end, start])
        else:
            cand = ("end_time >= ? AND end_time < ?", [start, end])
        where, params = f"trace_key IN (SELECT trace_key FROM segments WHERE {cand[0]})", list(cand[1])
    for sql, sql_params in compile_filter(query.filter, *semi).prefilters:
        where += f" AND {sql}"
        params.extend(sql_params)
    where += narrow[0]
    params.extend(narrow[1])
    return _page(conn, query, _live(conn, query, where, params, semi), None)


def _table_rows(
    conn: duckdb.DuckDBPyConnection, query: TraceQuery, dirty: _Keys, narrow: Narrowed, graph_cursor: int
) -> list[Row]:
    """Matching rows of ``traces`` (minus ``dirty`` traces), newest first, slice by slice until a page is full."""
    start, end = query.start, query.end
    after = query.after[0] if query.after is not None else None
    lower: float
    top: float
    if query.range_type is TimeRangeType.TRACE_ID:
        lower, top = math.floor(start), math.ceil(end)
        if after is not None:
            top = min(top, math.floor(after) + 1)
        sort, integer = "trace_time::DOUBLE", True

        def slice_where(a: float, b: float) -> tuple[str, list[Any]]:
            return "trace_time >= ? AND trace_time < ?", [a, b]
    else:
        event = query.range_type is TimeRangeType.EVENT
        lower, top = start, end
        if after is not None:
            top = min(top, trace_table.below(after))
        sort, integer = ("last_end", False) if event else (_DONE, False)

        def slice_where(a: float, b: float) -> tuple[str, list[Any]]:
            if event:
                return "last_end >= ? AND last_end < ?", [a, b]
            # done <= last_end: the first term lets min/max of last_end skip row groups.
            return f"last_end >= ? AND {_DONE} >= ? AND {_DONE} < ?", [a, a, b]

    exclude = f" AND trace_key NOT IN (SELECT trace_key FROM ({dirty.sql}))" if dirty.count else ""
    exclude_params = dirty.params if dirty.count else []
    windowed = compile_filter(query.filter, "TRUE", []).windowed
    # The narrowing is recomputed per slice, bounded by the slice's seconds: facts are read
    # for the traces a slice can hold, not for the whole window at every slice.
    cursor = graph_cursor if query.narrow is not None and narrow[0] else None
    out: list[Row] = []
    b, width = top, _FIRST_SLICE
    while b > lower and len(out) <= query.limit:
        a = lower if b - lower <= 2 * width else b - width  # a rest smaller than this slice: take it now
        if integer:
            a = math.floor(a)
        cond, cond_params = slice_where(a, b)
        semi_window, semi_params = "TRUE", []
        if query.range_type is TimeRangeType.TRACE_ID:
            semi_window, semi_params = "trace_time >= ? AND trace_time < ?", [a, b]
        elif windowed or cursor is not None:
            # A trace's annotations, segments and facts carry its trace_time: bound their scans by the slice's.
            bounds = conn.execute(f"SELECT min(trace_time), max(trace_time) FROM traces WHERE {cond}", cond_params).fetchone()
            if not bounds or bounds[0] is None:
                b, width = a, width * _GROWTH
                continue
            semi_window, semi_params = "trace_time BETWEEN ? AND ?", [int(bounds[0]), int(bounds[1])]
        compiled = compile_filter(query.filter, semi_window, semi_params)
        sliced = narrow
        if cursor is not None and query.narrow is not None:
            found_narrow = narrow_condition(conn, query.narrow, semi_window, semi_params, cursor=cursor)
            sliced = ("", []) if found_narrow is None else (f" AND {found_narrow[0]}", found_narrow[1])
        rows_sql = f"SELECT * FROM traces WHERE {cond}{exclude}{sliced[0]}"
        sql, ranked_params = _ranked(rows_sql, sort, "TRUE", compiled, query)
        params = [*cond_params, *exclude_params, *sliced[1], *ranked_params]
        found = [(int(r[0]), int(r[1]), int(r[2]), float(r[3])) for r in conn.execute(sql, params).fetchall()]
        out += found
        covered = top - a
        need = query.limit + 1 - len(out)
        rate = len(out) / covered if covered > 0 else 0.0
        b, width = a, max(width * _GROWTH, need * _MARGIN / rate if rate else math.inf)
    return out


def _processed(
    conn: duckdb.DuckDBPyConnection,
    query: TraceQuery,
    hits: list[TraceHit],
    more: bool,
    mark: int | None,
    window_dirty: _Keys | None = None,
) -> int:
    """Traces looked at for this page, matching or not, counted by their root segments."""
    upper = query.after[0] if query.after else query.end
    lower = hits[-1].sort_time if (hits and more) else query.start
    roots = "parent_id IS NULL AND NOT is_sub"
    if query.range_type is TimeRangeType.TRACE_ID:
        cond, params = "trace_time >= ? AND trace_time <= ?", [math.floor(lower), upper]
        if mark is not None:
            # Summarized traces from the table; traces with newer documents counted live instead.
            sql = f"SELECT coalesce(sum(roots), 0) FROM traces WHERE {cond}"
            total = int(conn.execute(sql, params).fetchone()[0])  # type: ignore[index]
            if window_dirty is None:
                window_dirty = _keys(
                    conn, f"SELECT DISTINCT trace_key, trace_time FROM segments WHERE chunk > ? AND {cond}", [mark, *params]
                )
            if window_dirty.count:  # (the page's range lies inside the window the set was read for)
                keys, keys_params = window_dirty.member()
                keys = f"{cond} AND {keys}"
                keys_params = [*params, *keys_params]
                row = conn.execute(
                    f"SELECT (SELECT count(*) FROM segments WHERE {roots} AND {keys})"
                    f" - (SELECT coalesce(sum(roots), 0) FROM traces WHERE {keys})",
                    [*keys_params, *keys_params],
                ).fetchone()
                total += int(row[0]) if row else 0
            return max(total, len(hits))
        sql = f"SELECT count(*) FROM segments WHERE {cond} AND {roots}"
    elif query.range_type is TimeRangeType.EVENT:
        # In two parts, so that min/max of end_time and start_time skip row groups.
        params = [lower, upper, lower, upper]
        sql = (
            f"SELECT (SELECT count(*) FROM segments WHERE end_time >= ? AND start_time <= ? AND {roots})"
            f" + (SELECT count(*) FROM segments WHERE end_time IS NULL AND start_time >= ? AND start_time <= ? AND {roots})"
        )
    else:
        params = [lower, upper]
        sql = f"SELECT count(*) FROM segments WHERE end_time >= ? AND end_time <= ? AND {roots}"
    row = conn.execute(sql, params).fetchone()
    return max(int(row[0]) if row else 0, len(hits))

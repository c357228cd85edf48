"""The per-trace table ``traces``, kept by a summarizer in SQL.

Trace searches filter and sort on whole-trace values (root-segment fields,
duration, first and last times); computing them per query means aggregating
every segment of the window.  ``traces`` keeps them instead: one row per
trace, replaced whenever the trace receives documents.

Each ``summarize`` cycle takes the traces with documents in chunks after the
watermark and replaces their rows with an aggregate of all their segments,
in one transaction with the new watermark.  The chunk id is the watermark
because the single writer numbers chunks in increasing order and commits
each batch before numbering the next: every snapshot sees a prefix of the
chunk ids.  So in any snapshot, a trace none of whose documents are in a chunk
after the watermark has exactly the row computed from its current segments:
every change to a trace's segments brings a document in a new chunk (the
writer deletes a superseded in-progress document only beside its complete
version), and retention recomputes the traces it touches itself (``prune``).
Readers use ``traces`` for those traces and the live aggregate (``LIVE``, the
same SQL) for the few with newer documents.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import duckdb

WATERMARK_KEY = "traces_watermark"

# The root is the earliest segment without a parent, else the earliest segment, else the
# earliest independent subsegment (fluoro.query.summaries.root_segment); the id breaks ties
# so the live aggregate and the table always pick the same document.
_ROOT = (
    "arg_min({'st': start_time, 'et': end_time, 'fault': fault, 'error': error, 'throttle': throttle,"
    " 'status': http_status, 'method': http_method, 'url': http_url, 'ua': user_agent, 'ip': client_ip},"
    " {'rank': CASE WHEN is_sub THEN 2 WHEN parent_id IS NULL THEN 0 ELSE 1 END, 'start': start_time, 'id': id})"
)
# Per-trace aggregates over ``segments`` rows grouped by (trace_key, trace_time, hi): the trace id.
AGGREGATES = (
    "any_value(trace_time) AS trace_time, min(start_time) AS first_start,"
    " max(coalesce(end_time, start_time)) AS last_end, max(end_time) AS last_end_time,"
    " count(*) FILTER (WHERE parent_id IS NULL AND NOT is_sub) AS roots,"
    f" {_ROOT} AS root, bool_or(in_progress) AS partial, bool_or(any_throttle) AS any_throttle"
)
# The columns of ``traces``, in table order, as computed from ``AGGREGATES``.  ``hi`` is the
# trace id's 32 random bits before ``trace_key``: with trace_time they rebuild the id, and
# (trace_time, hi, trace_key) orders like the id string.  ``last_done`` (the latest end_time)
# equals ``last_end`` unless the trace has an in-progress document, so only then is it stored.
COLUMNS = (
    "trace_key", "trace_time", "hi", "first_start", "last_end", "last_done", "roots", "response_time",
    "fault", "error", "throttle", "any_throttle", "partial", "status", "method", "url", "ua", "ip",
)  # fmt: skip
FLATTEN = (
    "trace_key, trace_time, hi, first_start, last_end,"
    " CASE WHEN partial THEN last_end_time END AS last_done, roots::INTEGER AS roots,"
    " root.et - root.st AS response_time, root.fault AS fault, root.error AS error, root.throttle AS throttle,"
    " any_throttle, partial, root.status AS status, root.method AS method, root.url AS url, root.ua AS ua,"
    " root.ip AS ip"
)
# One row per document id, the version a trace read shows (fluoro.query.assemble): a
# complete one before an in-progress one, then the latest received, then the latest written.
# A document sent again (say with ``fault`` set) must not leave its old flags searchable.
LATEST = (
    "QUALIFY row_number() OVER (PARTITION BY trace_key, trace_time, hi, id"
    " ORDER BY in_progress, received DESC, chunk DESC, off DESC) = 1"
)
# Derived columns every reader of a trace row (table or live) sees under the same names.
DERIVED = (
    "last_end - first_start AS duration,"
    " CASE WHEN partial THEN last_done ELSE last_end END AS done"
)


def live(where: str, extra: Sequence[tuple[str, str]] = ()) -> str:
    """Trace rows computed now from the ``segments`` rows matching ``where``, shaped like ``traces``.

    ``extra`` adds (name, aggregate) columns; their parameters come before ``where``'s.
    """
    inner = "".join(f", {expr} AS {name}" for name, expr in extra)
    outer = "".join(f", {name}" for name, _ in extra)
    return (
        f"SELECT {FLATTEN}{outer} FROM (SELECT trace_key, hi{inner}, {AGGREGATES} FROM"
        f" (SELECT * FROM segments WHERE {where} {LATEST}) GROUP BY trace_key, trace_time, hi)"
    )


# Where a row is: (chunk, off) is unique per stored document, packed into one BIGINT.
_PLACE = "chunk * 4294967296 + off"
_ROW_PLACE = "r.chunk * 4294967296 + r.off"
_RANK = "CASE WHEN is_sub THEN 2 WHEN parent_id IS NULL THEN 0 ELSE 1 END"


def summary_rows(where: str) -> str:
    """``live(where)``'s rows in ``COLUMNS`` order, computed the summarizer's way.

    The same rows (tests hold them equal): the aggregate keeps only the root's place, not a
    struct of its ten fields, and the root row is joined back by its place; that is about a
    fifth cheaper, and the summarizer runs it over every stored segment.  Documents are
    unique per (trace, id) after ``LATEST``, so the root's (rank, start, id) is unique too.
    """
    return (
        f"WITH s AS (SELECT * FROM segments WHERE {where} {LATEST}),"
        " a AS (SELECT trace_key, trace_time, hi, min(start_time) AS first_start,"
        " max(coalesce(end_time, start_time)) AS last_end, max(end_time) AS last_end_time,"
        " count(*) FILTER (WHERE parent_id IS NULL AND NOT is_sub) AS roots,"
        f" arg_min({_PLACE}, {{'rank': {_RANK}, 'start': start_time, 'id': id}}) AS root,"
        " bool_or(in_progress) AS partial, bool_or(any_throttle) AS any_throttle"
        " FROM s GROUP BY trace_key, trace_time, hi)"
        " SELECT a.trace_key, a.trace_time, a.hi, first_start, last_end,"
        " CASE WHEN partial THEN last_end_time END AS last_done, roots::INTEGER AS roots,"
        " r.end_time - r.start_time AS response_time, r.fault, r.error, r.throttle, a.any_throttle, partial,"
        " r.http_status AS status, r.http_method AS method, r.http_url AS url, r.user_agent AS ua, r.client_ip AS ip"
        f" FROM a JOIN s r ON {_ROW_PLACE} = a.root"
    )


def watermark(conn: duckdb.DuckDBPyConnection) -> int:
    """The highest chunk id whose traces are summarized (-1: none yet)."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", [WATERMARK_KEY]).fetchone()
    return int(row[0]) if row else -1


def summarize(conn: duckdb.DuckDBPyConnection, max_chunks: int) -> tuple[int, bool]:
    """One cycle over at most ``max_chunks`` chunks; returns (segments covered, caught up)."""
    conn.execute("BEGIN TRANSACTION")
    try:
        mark = watermark(conn)
        row = conn.execute("SELECT max(chunk) FROM segments WHERE chunk > ?", [mark]).fetchone()
        newest = row[0] if row else None
        if newest is None:
            conn.execute("COMMIT")
            return 0, True
        upto = min(int(newest), mark + max_chunks)
        span = "chunk > ? AND chunk <= ?"
        row = conn.execute(
            f"SELECT count(*), min(trace_time), max(trace_time) FROM segments WHERE {span}", [mark, upto]
        ).fetchone()
        count = int(row[0]) if row else 0
        if count:
            lo, hi = int(row[1]), int(row[2])  # type: ignore[index]
            changed = f"trace_key IN (SELECT trace_key FROM segments WHERE {span})"
            conn.execute(
                f"DELETE FROM traces WHERE trace_time BETWEEN ? AND ? AND {changed}", [lo, hi, mark, upto]
            )
            conn.execute(
                f"INSERT INTO traces ({', '.join(COLUMNS)}) SELECT * FROM"
                f" ({summary_rows(f'trace_time BETWEEN ? AND ? AND {changed}')}) ORDER BY trace_time, hi, trace_key",
                [lo, hi, mark, upto],
            )
        conn.execute("UPDATE meta SET value = ? WHERE key = ?", [str(upto), WATERMARK_KEY])
        conn.execute("COMMIT")
        return count, upto >= int(newest)
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def prune(conn: duckdb.DuckDBPyConnection, received_before: float) -> None:
    """Inside retention's transaction, before it deletes segments: recompute the traces it touches.

    A trace can lose only some documents (those received before the cut), so its row is
    rebuilt from the documents that stay; traces that lose every document lose their row.
    """
    old = "SELECT trace_key FROM segments WHERE received < ?"
    row = conn.execute("SELECT min(trace_time), max(trace_time) FROM segments WHERE received < ?",
                       [received_before]).fetchone()  # fmt: skip
    if not row or row[0] is None:
        return
    lo, hi = int(row[0]), int(row[1])
    params: list[Any] = [lo, hi, received_before]
    conn.execute(f"DELETE FROM traces WHERE trace_time BETWEEN ? AND ? AND trace_key IN ({old})", params)
    conn.execute(
        f"INSERT INTO traces ({', '.join(COLUMNS)}) SELECT {', '.join(COLUMNS)} FROM"
        f" ({live(f'received >= ? AND trace_time BETWEEN ? AND ? AND trace_key IN ({old})')})"
        " ORDER BY trace_time, hi, trace_key",
        [received_before, *params],
    )


def trace_id(trace_time: int, hi: int, key: int) -> str:
    """Rebuild a trace id from its table columns (ids are validated lowercase hex)."""
    return f"1-{trace_time:08x}-{hi:08x}{key + (1 << 63):016x}"


def id_parts(trace_id_: str) -> tuple[int, int, int]:
    """(trace_time, hi, trace_key) of a trace id: its sort order as integers."""
    return int(trace_id_[2:10], 16), int(trace_id_[11:19], 16), int(trace_id_[19:], 16) - (1 << 63)


def below(value: float) -> float:
    """The least float above ``value``: ``x < below(v)`` is ``x <= v``."""
    return math.nextafter(value, math.inf)

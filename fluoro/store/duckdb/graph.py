"""The service-graph rollup in DuckDB: ``GraphStore`` over three tables (see schema.sql).

The cursor is the highest document chunk id seen: chunk ids only grow and
are assigned by the single writer in commit order, so "documents in chunks
after the cursor" is exactly what was written since the last rollup.
Replacing a trace subtracts its stored contribution and adds the new one
with upserts, and swaps its ``trace_nodes`` rows, in one transaction with
the cursor.  The cursor is therefore also the watermark of ``trace_nodes``:
a trace with no document in a chunk after it has current node facts.
"""

from __future__ import annotations

import math
from operator import attrgetter
from typing import Any, Sequence

import duckdb
import pyarrow as pa

from fluoro.store.api import FACT_OPAQUE, GraphRow, NodeFact, trace_key
from fluoro.store.duckdb import trace_table

_COUNTS = ("ok", "error", "throttle", "fault", "total", "response_time", "samples")
_GRAPH_TRACES = pa.schema([
    ("trace_key", pa.int64()), ("trace_time", pa.int64()), ("hi", pa.uint32()), ("bucket", pa.int64()),
    ("key", pa.string()), ("ok", pa.int64()), ("error", pa.int64()), ("throttle", pa.int64()), ("fault", pa.int64()),
    ("total", pa.int64()), ("response_time", pa.float64()), ("samples", pa.int64()), ("first", pa.float64()),
    ("last", pa.float64()), ("hist_ms", pa.list_(pa.int32())), ("hist_n", pa.list_(pa.int64())),
])  # fmt: skip
# What ``graph_traces`` keeps of a contribution: all a later subtraction reads.  ``first`` and
# ``last`` only ever widen ``graph_minutes`` (a subtraction does not narrow them back).
_STORED = ", ".join(f.name for f in _GRAPH_TRACES if f.name not in ("first", "last"))
_TRACE_NODES = pa.schema([
    ("trace_key", pa.int64()), ("trace_time", pa.int64()), ("kind", pa.int8()), ("name", pa.string()),
    ("type", pa.string()), ("account", pa.string()), ("dst_name", pa.string()), ("dst_type", pa.string()),
    ("dst_account", pa.string()), ("fault", pa.bool_()), ("error", pa.bool_()), ("throttle", pa.bool_()),
    ("ok", pa.bool_()),
])  # fmt: skip
_FACT_FIELDS = ("kind", "name", "type", "account", "dst_name", "dst_type", "dst_account", "fault", "error",
                "throttle", "ok")  # fmt: skip
_ROW_FIELDS = ("bucket", "key", *_COUNTS, "first", "last")
_ROW_VALUES = attrgetter(*_ROW_FIELDS)
_FACT_VALUES = attrgetter(*_FACT_FIELDS)
# v2: the cursor also covers trace_nodes.  A file rolled up before that table existed has
# only the old key, so its rollup starts over once (replacing is idempotent) and every
# trace gets its node facts; until then every trace stays a narrowing candidate.
# v3: node facts include trace attributes (FACT_ATTR); older facts lack them, so the same.
_CURSOR_KEY = "graph_cursor_v3"


def cursor(conn: duckdb.DuckDBPyConnection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", [_CURSOR_KEY]).fetchone()
    return int(row[0]) if row else -1


def changes(conn: duckdb.DuckDBPyConnection, after: int, chunks: int | None = None) -> list[tuple[str, int]]:
    """Traces with documents in chunks after ``after``, each with its latest such chunk, in that order.

    With ``chunks``, only a span of that many chunk ids from the first one after ``after``
    (every trace written in it, with its latest chunk in it; a trace written again later
    comes back with that chunk).  A backlog of a million traces listed at once held the
    GIL for seconds and hundreds of MB of ids.
    """
    span, params = "", [after]
    if chunks is not None:
        span = " AND chunk < (SELECT min(chunk) FROM segments WHERE chunk > ?) + ?"
        params += [after, chunks]
    rows = conn.execute(
        f"SELECT trace_time, hi, trace_key, max(chunk) AS pos FROM segments WHERE chunk > ?{span}"
        " GROUP BY trace_time, hi, trace_key ORDER BY pos, trace_time, hi, trace_key",
        params,
    ).fetchall()
    return [(trace_table.trace_id(int(t), int(h), int(k)), int(pos)) for t, h, k, pos in rows]


def _table(rows: dict[str, list[GraphRow]]) -> pa.Table:
    # Column-wise, each row's scalar fields taken in one attrgetter call: the rollup writes
    # thousands of traces per call and this runs holding the GIL.
    times: list[int] = []
    his: list[int] = []
    keys: list[int] = []
    values: list[tuple[Any, ...]] = []
    hist_ms: list[list[int]] = []
    hist_n: list[list[int]] = []
    for trace_id, trace_rows in rows.items():
        if not trace_rows:
            continue
        time, hi, key = trace_table.id_parts(trace_id)
        n = len(trace_rows)
        times += [time] * n
        his += [hi] * n
        keys += [key] * n
        values += map(_ROW_VALUES, trace_rows)
        for r in trace_rows:
            ms = sorted(r.histogram)
            hist_ms.append(ms)
            hist_n.append([r.histogram[m] for m in ms])
    columns: dict[str, Any] = dict(zip(_ROW_FIELDS, zip(*values))) if values else dict.fromkeys(_ROW_FIELDS, ())
    columns.update(trace_key=keys, trace_time=times, hi=his, hist_ms=hist_ms, hist_n=hist_n)
    return pa.table([pa.array(columns[f.name], f.type) for f in _GRAPH_TRACES], schema=_GRAPH_TRACES)


def _facts_table(ids: Sequence[str], facts: dict[str, list[NodeFact]] | None) -> pa.Table:
    """Rows for ``trace_nodes``; a trace without facts gets one opaque row (never narrowed away)."""
    keys: list[int] = []
    times: list[int] = []
    values: list[tuple[Any, ...]] = []
    opaque = [NodeFact(FACT_OPAQUE)]
    for trace_id in ids:
        found = facts.get(trace_id) if facts is not None else None
        trace_facts = opaque if found is None else found
        n = len(trace_facts)
        keys += [trace_key(trace_id)] * n
        times += [int(trace_id[2:10], 16)] * n
        values += map(_FACT_VALUES, trace_facts)
    columns: dict[str, Any] = dict(zip(_FACT_FIELDS, zip(*values))) if values else dict.fromkeys(_FACT_FIELDS, ())
    columns.update(trace_key=keys, trace_time=times)
    return pa.table([pa.array(columns[f.name], f.type) for f in _TRACE_NODES], schema=_TRACE_NODES)


def replace(
    conn: duckdb.DuckDBPyConnection,
    rows: dict[str, list[GraphRow]],
    new_cursor: int,
    facts: dict[str, list[NodeFact]] | None = None,
) -> None:
    """Swap the contributions and node facts of ``rows``' traces; one transaction with the cursor."""
    ids = sorted(rows)
    parts = [trace_table.id_parts(t) for t in ids]
    # The traces' previous contributions: the integer key scans, the registered ids confirm.
    old = (
        "FROM graph_traces g WHERE trace_time BETWEEN ? AND ? AND trace_key IN (SELECT trace_key FROM _graph_ids)"
        " AND EXISTS (SELECT 1 FROM _graph_ids i WHERE i.trace_key = g.trace_key AND i.trace_time = g.trace_time"
        " AND i.hi = g.hi)"
    )
    old_params: list[Any] = [min(p[0] for p in parts), max(p[0] for p in parts)] if ids else [0, -1]
    ids_table = pa.table({
        "trace_time": pa.array([p[0] for p in parts], pa.int64()),
        "hi": pa.array([p[1] for p in parts], pa.uint32()),
        "trace_key": pa.array([p[2] for p in parts], pa.int64()),
    })  # fmt: skip
    sums = ", ".join(f"sum({c})" for c in _COUNTS)
    negated = ", ".join(f"-{c}" for c in _COUNTS)
    plain = ", ".join(_COUNTS)
    updates = ", ".join(f"{c} = graph_minutes.{c} + excluded.{c}" for c in _COUNTS)
    nodes_old = "FROM trace_nodes WHERE trace_time BETWEEN ? AND ? AND trace_key IN (SELECT trace_key FROM _graph_ids)"
    conn.execute("BEGIN TRANSACTION")
    try:
        conn.register("_graph_new", _table(rows))
        conn.register("_graph_ids", ids_table)
        conn.register("_nodes_new", _facts_table(ids, facts))
        conn.execute(
            f"INSERT INTO graph_minutes SELECT bucket, key, {sums}, min(first), max(last) FROM ("
            f" SELECT bucket, key, {plain}, first, last FROM _graph_new UNION ALL"
            f" SELECT bucket, key, {negated}, 'inf'::DOUBLE, '-inf'::DOUBLE {old})"
            " GROUP BY bucket, key"
            f" ON CONFLICT (bucket, key) DO UPDATE SET {updates},"
            " first = least(graph_minutes.first, excluded.first), last = greatest(graph_minutes.last, excluded.last)",
            old_params,
        )
        conn.execute(
            "INSERT INTO graph_histogram SELECT bucket, key, ms, sum(n) FROM ("
            " SELECT bucket, key, unnest(hist_ms) AS ms, unnest(hist_n) AS n FROM _graph_new UNION ALL"
            f" SELECT bucket, key, unnest(hist_ms) AS ms, -unnest(hist_n) AS n {old})"
            " GROUP BY bucket, key, ms HAVING sum(n) <> 0"
            " ON CONFLICT (bucket, key, ms) DO UPDATE SET n = graph_histogram.n + excluded.n",
            old_params,
        )
        conn.execute(f"DELETE {old}", old_params)
        conn.execute(f"INSERT INTO graph_traces ({_STORED}) SELECT {_STORED} FROM _graph_new")
        conn.execute(f"DELETE {nodes_old}", old_params)
        conn.execute("INSERT INTO trace_nodes SELECT * FROM _nodes_new")
        conn.execute(
            "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [_CURSOR_KEY, str(new_cursor)],
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    finally:
        conn.unregister("_graph_new")
        conn.unregister("_graph_ids")
        conn.unregister("_nodes_new")


def read_keys(conn: duckdb.DuckDBPyConnection, start: float, end: float) -> list[str]:
    rows = conn.execute(
        "SELECT key FROM graph_minutes WHERE bucket >= ? AND bucket < ? GROUP BY key HAVING sum(samples) > 0",
        [math.floor(start / 60) * 60, end],
    ).fetchall()
    return [str(r[0]) for r in rows]


def read_rows(
    conn: duckdb.DuckDBPyConnection, start: float, end: float, period: int | None, keys: Sequence[str] | None
) -> list[GraphRow]:
    """Rows of the minutes overlapping ``[start, end)``, summed per key and ``period`` bucket."""
    lo = math.floor(start / 60) * 60
    bucket = f"(bucket // {int(period)}) * {int(period)}" if period else str(lo)
    window = "bucket >= ? AND bucket < ?"
    params: list[Any] = [lo, end]
    if keys is not None:
        window += " AND key IN (SELECT unnest(?::VARCHAR[]))"
        params.append(list(keys))
    sums = ", ".join(f"sum({c})" for c in _COUNTS)
    out: dict[tuple[int, str], GraphRow] = {}
    for r in conn.execute(
        f"SELECT {bucket} AS b, key, {sums}, min(first), max(last) FROM graph_minutes WHERE {window}"
        " GROUP BY b, key HAVING sum(samples) > 0",
        params,
    ).fetchall():
        out[(int(r[0]), str(r[1]))] = GraphRow(
            int(r[0]), str(r[1]), int(r[2]), int(r[3]), int(r[4]), int(r[5]), int(r[6]), float(r[7]), int(r[8]),
            float(r[9]), float(r[10]), {},
        )  # fmt: skip
    for b, key, ms, n in conn.execute(
        f"SELECT {bucket} AS b, key, ms, sum(n) FROM graph_histogram WHERE {window}"
        " GROUP BY b, key, ms HAVING sum(n) > 0",
        params,
    ).fetchall():
        row = out.get((int(b), str(key)))
        if row is not None:
            row.histogram[int(ms)] = int(n)
    return list(out.values())


def delete_before(conn: duckdb.DuckDBPyConnection, before: float) -> None:
    conn.execute("DELETE FROM graph_minutes WHERE bucket < ?", [math.floor(before / 60) * 60 - 60])
    conn.execute("DELETE FROM graph_histogram WHERE bucket < ?", [math.floor(before / 60) * 60 - 60])
    conn.execute("DELETE FROM graph_traces WHERE trace_time < ?", [math.floor(before) - 3600])
    # Node facts must never rule out a trace whose documents survive: a trace that loses
    # only some documents becomes opaque (it may now look different), and facts go only
    # with the last of their trace's documents.
    cut = math.floor(before) - 3600
    conn.execute(
        f"INSERT INTO trace_nodes (trace_key, trace_time, kind, fault, error, throttle, ok)"
        f" SELECT trace_key, any_value(trace_time), {FACT_OPAQUE}, false, false, false, false FROM segments"
        " GROUP BY trace_key HAVING min(received) < ? AND max(received) >= ?",
        [before, before],
    )
    conn.execute(
        "DELETE FROM trace_nodes WHERE trace_time < ?"
        " AND trace_key NOT IN (SELECT trace_key FROM segments WHERE trace_time < ? AND received >= ?)",
        [cut, cut, before],
    )

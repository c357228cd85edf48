"""``TraceQuery.narrow`` → a DuckDB condition on ``segments.trace_key``: candidates for the evaluator.

A trace stays a candidate when its ``trace_nodes`` facts satisfy the
narrowing, when its facts are unknown (an opaque row), or when a document of
it was written after the rollup cursor (its facts may be stale or missing).
User strings are bound parameters.
"""

from __future__ import annotations

from typing import Any

import duckdb

from fluoro.query.filters.ast import And, Const, Node, Not, Or
from fluoro.query.filters.narrow import Absent, Column, Exists
from fluoro.store.api import FACT_ATTR, FACT_OPAQUE
from fluoro.store.duckdb import graph

_COLUMNS = frozenset({"name", "type", "account", "dst_name", "dst_type", "dst_account"})
_FLAGS = frozenset({"fault", "error", "throttle", "ok"})


def _row(node: Node, params: list[Any]) -> str:
    if isinstance(node, And):
        return "(" + " AND ".join(_row(n, params) for n in node.items) + ")"
    if isinstance(node, Or):
        return "(" + " OR ".join(_row(n, params) for n in node.items) + ")"
    if isinstance(node, Not):
        return f"(NOT coalesce({_row(node.item, params)}, false))"
    if isinstance(node, Const):
        return "TRUE" if node.value else "FALSE"
    if isinstance(node, Column):
        if node.op == "is" and node.column in _FLAGS:
            return node.column
        if node.column not in _COLUMNS:
            raise ValueError(f"unknown fact column {node.column!r}")
        params.append(node.value)
        column = node.column
        op = {"=": f"{column} = ?", "!=": f"{column} <> ?", "contains": f"contains({column}, ?)",
              "beginswith": f"starts_with({column}, ?)", "endswith": f"ends_with({column}, ?)"}[node.op]  # fmt: skip
        return f"({op})"
    raise ValueError(f"not a fact condition: {node!r}")


def _exists(node: Exists, window: str, window_params: list[Any], params: list[Any], columns: str) -> str:
    # Two scans with plain conjunctions, not one with an OR: each conjunct is pushed into its
    # scan (a TINYINT kind, dictionary-coded strings), where the OR made DuckDB materialize
    # every fact row of the window and test them one by one (about 30 ms at 3 M rows).
    params.extend(window_params)
    params.extend(window_params)
    params.append(node.fact_kind)
    cond = _row(node.cond, params)
    return (
        f"SELECT {columns} FROM trace_nodes WHERE {window} AND kind = {FACT_OPAQUE} UNION ALL"
        f" SELECT {columns} FROM trace_nodes WHERE {window} AND kind = ? AND {cond}"
    )


def _trace(node: Node, window: str, window_params: list[Any], params: list[Any]) -> str:
    if isinstance(node, And):
        return "(" + " AND ".join(_trace(n, window, window_params, params) for n in node.items) + ")"
    if isinstance(node, Or):
        return "(" + " OR ".join(_trace(n, window, window_params, params) for n in node.items) + ")"
    if isinstance(node, Const):
        return "TRUE" if node.value else "FALSE"
    if isinstance(node, Exists):
        return f"trace_key IN ({_exists(node, window, window_params, params, 'trace_key')})"
    if isinstance(node, Absent):
        # Traces with such an attribute fact are out, unless their facts are unknown (opaque).
        params.extend(window_params)
        params.append(FACT_ATTR)
        cond = _row(node.cond, params)
        params.extend(window_params)
        return (
            f"(trace_key NOT IN (SELECT trace_key FROM trace_nodes WHERE {window} AND kind = ? AND {cond})"
            f" OR trace_key IN (SELECT trace_key FROM trace_nodes WHERE {window} AND kind = {FACT_OPAQUE}))"
        )
    raise ValueError(f"not a narrowing: {node!r}")


def _subset(node: Node, window: str, window_params: list[Any], params: list[Any]) -> str | None:
    """(trace_key, trace_time) rows of traces ``node`` certainly keeps (a subset), or None.

    A subset, never a superset: counting a trace the narrowing drops would set the
    page bound too new and lose older candidates.
    """
    if isinstance(node, Exists):
        return _exists(node, window, window_params, params, "trace_key, trace_time")
    if isinstance(node, (And, Or)):
        parts = []
        for item in node.items:
            sub: list[Any] = []
            part = _subset(item, window, window_params, sub)
            if part is None:
                if isinstance(node, And):
                    return None  # an intersection with an unknown set is unknown
                continue  # a union stays a subset without this part
            parts.append(f"({part})")
            params.extend(sub)
        if not parts:
            return None
        return (" INTERSECT " if isinstance(node, And) else " UNION ALL ").join(parts)
    if isinstance(node, Const) and not node.value:
        return "SELECT 0::BIGINT AS trace_key, 0::BIGINT AS trace_time WHERE FALSE"
    return None


def _bound(
    conn: duckdb.DuckDBPyConnection, narrow: Node, window: str, window_params: list[Any], cursor: int,
    need: int, before: float | None,
) -> int | None:
    """The ``trace_time`` of the ``need``-th newest candidate that has documents, or None.

    Results come newest first by ``trace_time`` (the TraceId range with no filter pushed),
    so no trace older than that can be on the page: aggregating only newer ones is exact.
    Strictly before ``before`` (a page's resume point) so ties there stay in.
    """
    params: list[Any] = []
    rows = _subset(narrow, window, window_params, params)
    if rows is None:
        return None
    params.extend(window_params)
    params.append(cursor)
    older = ""
    if before is not None:
        older = " AND trace_time < ?"
        params.append(before)
    params.extend(window_params)
    params.append(need)
    row = conn.execute(
        f"SELECT min(trace_time), count(*) FROM (SELECT DISTINCT trace_key, trace_time FROM ({rows}"
        f" UNION ALL SELECT trace_key, trace_time FROM segments WHERE {window} AND chunk > ?) c"
        f" WHERE TRUE{older} AND trace_key IN (SELECT trace_key FROM segments WHERE {window})"
        " ORDER BY trace_time DESC LIMIT ?)",
        params,
    ).fetchone()
    if row is None or row[0] is None or int(row[1]) < need:
        return None  # fewer candidates than a page: nothing to cut
    return int(row[0])


def narrow_condition(
    conn: duckdb.DuckDBPyConnection,
    narrow: Node,
    window: str,
    window_params: list[Any],
    need: int | None = None,
    before: float | None = None,
    cursor: int | None = None,
) -> tuple[str, list[Any]] | None:
    """(SQL on ``segments`` rows, params) keeping every candidate trace, or None when nothing narrows.

    ``window`` bounds both ``trace_nodes`` and ``segments`` scans (both have ``trace_time``).
    The cursor is read before the query runs: a cursor older than the facts the query
    then sees only adds candidates, never drops one.  With ``need`` (the caller sorts by
    ``trace_time`` and filters nothing else) only the newest ``need`` candidates are kept,
    and their ties.  ``cursor``: the rollup cursor, if the caller read it already.
    """
    if cursor is None:
        cursor = graph.cursor(conn)
    if cursor < 0:
        return None  # never rolled up: every trace would be a candidate anyway
    params: list[Any] = []
    fresh = f"SELECT trace_key FROM segments WHERE {window} AND chunk > ?"
    if isinstance(narrow, Exists):  # the usual case: one semi-join over facts and fresh traces
        sql = f"trace_key IN ({_exists(narrow, window, window_params, params, 'trace_key')} UNION ALL {fresh})"
    else:
        sql = f"({_trace(narrow, window, window_params, params)} OR trace_key IN ({fresh}))"
    params.extend(window_params)
    params.append(cursor)
    bound = _bound(conn, narrow, window, window_params, cursor, need, before) if need is not None else None
    if bound is not None:
        sql += " AND trace_time >= ?"
        params.append(bound)
    return sql, params

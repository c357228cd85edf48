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
from fluoro.query.filters.narrow import Column, Exists
from fluoro.store.api import FACT_OPAQUE
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


def _trace(node: Node, window: str, window_params: list[Any], params: list[Any]) -> str:
    if isinstance(node, And):
        return "(" + " AND ".join(_trace(n, window, window_params, params) for n in node.items) + ")"
    if isinstance(node, Or):
        return "(" + " OR ".join(_trace(n, window, window_params, params) for n in node.items) + ")"
    if isinstance(node, Const):
        return "TRUE" if node.value else "FALSE"
    if isinstance(node, Exists):
        params.extend(window_params)
        params.append(node.fact_kind)
        cond = _row(node.cond, params)
        return (
            f"trace_key IN (SELECT trace_key FROM trace_nodes WHERE {window}"
            f" AND (kind = {FACT_OPAQUE} OR (kind = ? AND {cond})))"
        )
    raise ValueError(f"not a narrowing: {node!r}")


def narrow_condition(
    conn: duckdb.DuckDBPyConnection, narrow: Node, window: str, window_params: list[Any]
) -> tuple[str, list[Any]] | None:
    """(SQL on ``segments`` rows, params) keeping every candidate trace, or None when nothing narrows.

    ``window`` bounds both ``trace_nodes`` and ``segments`` scans (both have ``trace_time``).
    The cursor is read before the query runs: a cursor older than the facts the query
    then sees only adds candidates, never drops one.
    """
    cursor = graph.cursor(conn)
    if cursor < 0:
        return None  # never rolled up: every trace would be a candidate anyway
    params: list[Any] = []
    facts = _trace(narrow, window, window_params, params)
    params.extend(window_params)
    params.append(cursor)
    fresh = f"trace_key IN (SELECT trace_key FROM segments WHERE {window} AND chunk > ?)"
    return f"({facts} OR {fresh})", params

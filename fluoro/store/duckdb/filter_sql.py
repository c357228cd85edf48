"""Filter AST → parameterized DuckDB SQL over trace rows ``t`` (``trace_table.COLUMNS``).

User text only ever reaches the database as bound parameters.  Conditions
on a single segment's fields (``user``, ``annotation.*``) become semi-joins
on ``trace_key``; conjuncts of that kind are also returned separately so the
reader can apply them before aggregating, which is what keeps annotation
searches fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fluoro.query.filters.ast import And, Annotation, Compare, Const, Flag, Node, Not, Or, Present
from fluoro.store.api import Capabilities, FilterUnsupported

# Trace-level columns of a trace row ``t`` (the ``traces`` table or the live aggregate, same names).
_TRACE_FIELDS = {
    "responsetime": "t.response_time",
    "duration": "t.duration",
    "http.status": "t.status",
    "http.url": "t.url",
    "http.method": "t.method",
    "http.useragent": "t.ua",
    "http.clientip": "t.ip",
}
_FLAGS = {
    "ok": "(NOT coalesce(t.fault, false) AND NOT coalesce(t.error, false) AND NOT coalesce(t.throttle, false))",
    "error": "coalesce(t.error, false)",
    "fault": "coalesce(t.fault, false)",
    "throttle": "t.any_throttle",
    "partial": "t.partial",
}
CAPABILITIES = Capabilities(
    filter_nodes=frozenset(
        {"and", "or", "not", "const", "annotation"}
        | {f"flag:{name}" for name in _FLAGS}
        | {f"compare:{name}" for name in (*_TRACE_FIELDS, "user")}
        | {f"present:{name}" for name in ("http.url", "http.method", "http.useragent", "http.clientip", "user")}
    )
)
_NUMBER_OPS = {"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


@dataclass
class Compiled:
    where: str = "TRUE"
    params: list[Any] = field(default_factory=list)
    # Semi-joins that every match satisfies, as (sql, params), for pushdown.
    prefilters: list[tuple[str, list[Any]]] = field(default_factory=list)
    # Whether ``where`` scans another table bounded by the window (a semi-join).
    windowed: bool = False


def _string_op(column: str, op: str, params: list[Any], value: str) -> str:
    params.append(value)
    if op == "=":
        return f"{column} = ?"
    if op == "!=":
        return f"{column} <> ?"
    if op == "contains":
        return f"contains({column}, ?)"
    if op == "beginswith":
        return f"starts_with({column}, ?)"
    if op == "endswith":
        return f"ends_with({column}, ?)"
    raise FilterUnsupported(f"operator {op}")


class _Compiler:
    def __init__(self, window_sql: str, window_params: list[Any]) -> None:
        self.window_sql = window_sql
        self.window_params = window_params
        self.windowed = False

    def semi(self, table: str, cond: str, params: list[Any], out: list[Any]) -> str:
        # Joined on the integer key: a 64-bit collision could admit a stray trace; accepted.
        sql = f"t.trace_key IN (SELECT trace_key FROM {table} WHERE {cond} AND {self.window_sql})"
        self.windowed = True
        out.extend(params)
        out.extend(self.window_params)
        return sql

    def node(self, node: Node, out: list[Any]) -> str:
        if isinstance(node, And):
            return "(" + " AND ".join(self.node(n, out) for n in node.items) + ")"
        if isinstance(node, Or):
            return "(" + " OR ".join(self.node(n, out) for n in node.items) + ")"
        if isinstance(node, Not):
            return f"(NOT coalesce({self.node(node.item, out)}, false))"
        if isinstance(node, Const):
            return "TRUE" if node.value else "FALSE"
        if isinstance(node, Flag):
            if node.name not in _FLAGS:
                raise FilterUnsupported(f"keyword {node.name}")
            return _FLAGS[node.name]
        if isinstance(node, Present):
            if node.field == "user":
                return self.semi("segments", '"user" IS NOT NULL', [], out)
            return f"({_TRACE_FIELDS[node.field]} IS NOT NULL)"
        if isinstance(node, Compare):
            if node.field == "user":
                params: list[Any] = []
                cond = _string_op('"user"', node.op, params, str(node.value))
                return self.semi("segments", cond, params, out)
            column = _TRACE_FIELDS.get(node.field)
            if column is None:
                raise FilterUnsupported(f"keyword {node.field}")
            if isinstance(node.value, str):
                return _string_op(column, node.op, out, node.value)
            out.append(node.value)
            return f"({column} {_NUMBER_OPS[node.op]} ?)"
        if isinstance(node, Annotation):
            return self.semi("annotations", *self.annotation(node), out)
        raise FilterUnsupported(f"filter node {type(node).__name__}")

    def annotation(self, node: Annotation) -> tuple[str, list[Any]]:
        params: list[Any] = [node.key]
        if node.op is None:
            return "key = ?", params
        value = node.value
        if isinstance(value, bool):
            if node.op not in ("=", "!="):
                raise FilterUnsupported(f"operator {node.op} on a boolean")
            params.append(value)
            return f"key = ? AND b {_NUMBER_OPS[node.op]} ?", params
        if isinstance(value, str):
            return "key = ? AND " + _string_op("s", node.op, params, value), params
        if node.op not in _NUMBER_OPS:
            raise FilterUnsupported(f"operator {node.op} on a number")
        params.append(value)
        return f"key = ? AND n {_NUMBER_OPS[node.op]} ?", params


def compile_filter(node: Node | None, window_sql: str, window_params: list[Any]) -> Compiled:
    """Compile ``node``; ``window_sql`` bounds the semi-join scans (same params order)."""
    if node is None:
        return Compiled()
    compiler = _Compiler(window_sql, window_params)
    params: list[Any] = []
    where = compiler.node(node, params)
    windowed = compiler.windowed
    prefilters: list[tuple[str, list[Any]]] = []
    for item in node.items if isinstance(node, And) else (node,):
        sub_params: list[Any] = []
        if isinstance(item, Annotation) or (isinstance(item, Compare) and item.field == "user"):
            sql = compiler.node(item, sub_params).replace("t.trace_key IN", "trace_key IN", 1)
            prefilters.append((sql, sub_params))
            continue
        cond = _implied_row(item, sub_params)
        if cond is not None:
            bound: list[Any] = []
            sql = compiler.semi("segments", cond, sub_params, bound).replace("t.trace_key IN", "trace_key IN", 1)
            prefilters.append((sql, bound))
    return Compiled(where, params, prefilters, windowed)


# Root-row columns: a root with the value implies some row of the trace has it.  Only
# usually selective keywords narrow: a semi-join that keeps half the traces (http.method,
# responsetime) measured slower than aggregating everything (BENCHMARKS.md).
_ROW_COLUMNS = {"http.status": "http_status", "http.url": "http_url", "http.useragent": "user_agent",
                "http.clientip": "client_ip"}  # fmt: skip
_ROW_FLAGS = {"fault": "fault", "error": "error", "throttle": "any_throttle", "partial": "in_progress"}


def _implied_row(node: Node, params: list[Any]) -> str | None:
    """A condition on single ``segments`` rows that every matching trace has a row for, or None.

    Used only to narrow which traces are aggregated (whole traces are kept), so the
    trace-level condition is still evaluated exactly afterwards.
    """
    if isinstance(node, Flag) and node.name in _ROW_FLAGS:
        return _ROW_FLAGS[node.name]
    if isinstance(node, Not) and node.item == Flag("ok"):
        return "(fault OR error OR throttle)"
    if isinstance(node, Present) and node.field in _ROW_COLUMNS:
        return f"{_ROW_COLUMNS[node.field]} IS NOT NULL"
    if isinstance(node, Compare) and node.field in _ROW_COLUMNS:
        if isinstance(node.value, str):
            return _string_op(_ROW_COLUMNS[node.field], node.op, params, node.value)
        params.append(node.value)
        return f"{_ROW_COLUMNS[node.field]} {_NUMBER_OPS[node.op]} ?"
    return None

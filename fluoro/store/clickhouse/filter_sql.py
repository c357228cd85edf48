"""Filter AST → parameterized ClickHouse SQL over the per-trace aggregate.

The ClickHouse dialect of ``fluoro.store.duckdb.filter_sql``: the same
semantics, different spelling (``position``/``startsWith``, ``UInt8``
booleans, ``ifNull``), and semi-joins become ``GLOBAL IN`` on a cluster so a
shard sees annotations stored on any other shard.  User text only ever
reaches the server as bound parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fluoro.query.filters.ast import And, Annotation, Compare, Const, Flag, Node, Not, Or, Present
from fluoro.store.api import Capabilities, FilterUnsupported

CAPABILITIES = Capabilities(
    filter_nodes=frozenset({"and", "or", "not", "flag", "compare", "present", "annotation"})
)

# Trace-level columns of the aggregate (see reader._AGGREGATES).
_TRACE_FIELDS = {
    "responsetime": "response_time",
    "duration": "duration",
    "http.status": "root_status",
    "http.url": "root_url",
    "http.method": "root_method",
    "http.useragent": "root_ua",
    "http.clientip": "root_ip",
}
_FLAGS = {
    "ok": "(root_fault = 0 AND root_error = 0 AND root_throttle = 0)",
    "error": "(root_error = 1)",
    "fault": "(root_fault = 1)",
    "throttle": "(any_throttle = 1)",
    "partial": "(partial = 1)",
}
# Same coverage as the DuckDB compiler: everything else is evaluated on assembled traces.
CAPABILITIES = Capabilities(
    filter_nodes=frozenset(
        {"and", "or", "not", "const", "annotation"}
        | {f"flag:{name}" for name in _FLAGS}
        | {f"compare:{name}" for name in (*_TRACE_FIELDS, "user")}
        | {f"present:{name}" for name in (*_TRACE_FIELDS, "user")}
    )
)
_NUMBER_OPS = {"=": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


@dataclass
class Compiled:
    where: str = "1"
    params: list[Any] = field(default_factory=list)
    # Semi-joins that every match satisfies, as (sql, params), for pushdown.
    prefilters: list[tuple[str, list[Any]]] = field(default_factory=list)


def _string_op(column: str, op: str, params: list[Any], value: str) -> str:
    params.append(value)
    if op == "=":
        return f"({column} = ?)"
    if op == "!=":
        return f"({column} != ?)"
    if op == "contains":
        return f"(position({column}, ?) > 0)"
    if op == "beginswith":
        return f"startsWith({column}, ?)"
    if op == "endswith":
        return f"endsWith({column}, ?)"
    raise FilterUnsupported(f"operator {op}")


class _Compiler:
    def __init__(self, segments: str, annotations: str, window_sql: str, window_params: list[Any],
                 global_in: bool) -> None:  # fmt: skip
        self.tables = {"segments": segments, "annotations": annotations}
        self.window_sql = window_sql
        self.window_params = window_params
        self.in_op = "GLOBAL IN" if global_in else "IN"

    def semi(self, table: str, cond: str, params: list[Any], out: list[Any]) -> str:
        # Joined on the integer key: a 64-bit collision could admit a stray trace; accepted.
        out.extend(params)
        out.extend(self.window_params)
        return f"trace_key {self.in_op} (SELECT trace_key FROM {self.tables[table]} WHERE {cond} AND {self.window_sql})"

    def node(self, node: Node, out: list[Any]) -> str:
        if isinstance(node, And):
            return "(" + " AND ".join(self.node(n, out) for n in node.items) + ")"
        if isinstance(node, Or):
            return "(" + " OR ".join(self.node(n, out) for n in node.items) + ")"
        if isinstance(node, Not):
            return f"(NOT ifNull({self.node(node.item, out)}, 0))"
        if isinstance(node, Const):
            return "1" if node.value else "0"
        if isinstance(node, Flag):
            if node.name not in _FLAGS:
                raise FilterUnsupported(f"keyword {node.name}")
            return _FLAGS[node.name]
        if isinstance(node, Present):
            if node.field == "user":
                return self.semi("segments", "isNotNull(user)", [], out)
            return f"isNotNull({_TRACE_FIELDS[node.field]})"
        if isinstance(node, Compare):
            if node.field == "user":
                params: list[Any] = []
                cond = _string_op("user", node.op, params, str(node.value))
                return self.semi("segments", cond, params, out)
            column = _TRACE_FIELDS.get(node.field)
            if column is None:
                raise FilterUnsupported(f"keyword {node.field}")
            if isinstance(node.value, str):
                return _string_op(column, node.op, out, node.value)
            out.append(float(node.value))
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
            params.append(int(value))
            return f"key = ? AND b {_NUMBER_OPS[node.op]} ?", params
        if isinstance(value, str):
            return "key = ? AND " + _string_op("s", node.op, params, value), params
        if node.op not in _NUMBER_OPS:
            raise FilterUnsupported(f"operator {node.op} on a number")
        params.append(float(value))  # type: ignore[arg-type]
        return f"key = ? AND n {_NUMBER_OPS[node.op]} ?", params


def compile_filter(node: Node | None, segments: str, annotations: str, window_sql: str,
                   window_params: list[Any], global_in: bool = False) -> Compiled:  # fmt: skip
    """Compile ``node``; ``window_sql`` bounds the semi-join scans (same params order)."""
    if node is None:
        return Compiled()
    compiler = _Compiler(segments, annotations, window_sql, window_params, global_in)
    params: list[Any] = []
    where = compiler.node(node, params)
    prefilters: list[tuple[str, list[Any]]] = []
    for item in node.items if isinstance(node, And) else (node,):
        if isinstance(item, Annotation) or (isinstance(item, Compare) and item.field == "user"):
            sub_params: list[Any] = []
            prefilters.append((compiler.node(item, sub_params), sub_params))
    return Compiled(where, params, prefilters)


def bind(sql: str, params: list[Any]) -> tuple[str, dict[str, Any]]:
    """``?`` placeholders → clickhouse-driver's ``%(pN)s``; booleans as 0/1 (18.16 has no ``true``)."""
    pieces = sql.split("?")
    if len(pieces) != len(params) + 1:
        raise ValueError(f"{len(pieces) - 1} placeholders for {len(params)} parameters")
    out = [pieces[0].replace("%", "%%")]
    named: dict[str, Any] = {}
    for i, (value, rest) in enumerate(zip(params, pieces[1:])):
        named[f"p{i}"] = int(value) if isinstance(value, bool) else value
        out.append(f"%(p{i})s")
        out.append(rest.replace("%", "%%"))
    return "".join(out), named

"""The service-graph rollup on ClickHouse (``GraphStore``): versioned per-trace contributions.

ClickHouse cannot update rows in place, so a trace's contribution is never
subtracted: each ``graph_replace`` appends the trace's rows under a new
generation (nanoseconds at the write) plus a marker row, and reads sum only
each trace's newest generation.  Replacing twice, or two servers' rollups
replacing the same trace, is harmless: the newest generation wins.

Write positions come from ClickHouse's own clock (``segments.written``,
seconds, filled by the server at insert), so servers with skewed clocks agree.
``graph_changes`` only hands out seconds that ended ``SETTLE_SECONDS`` ago:
an insert stamped in second S has committed by then, so no write is skipped,
at the price of the graph lagging ingestion by a few seconds.

The graph tables live on the node a server connects to (never distributed):
every server's rollup reads all shards' segments, so each node's graph is
complete on its own.
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable, Sequence

from fluoro.store.api import GraphRow, trace_key

SETTLE_SECONDS = 3
# A trace's rows lie within a day of its start: bounds the newest-generation lookup.
_TRACE_SPAN = 86400
_COUNTS = ("ok", "error", "throttle", "fault", "total", "response_time", "samples")
_COLUMNS = ("trace_id", "trace_key", "trace_time", "gen", "bucket", "key", *_COUNTS, "first", "last", "hist_ms",
            "hist_n")  # fmt: skip
Execute = Callable[[str, list[Any]], list[tuple[Any, ...]]]


def graph_tables(database: str) -> list[str]:
    counts = ", ".join(f"{c} {'Float64' if c == 'response_time' else 'Int64'}" for c in _COUNTS)
    return [
        f"CREATE TABLE IF NOT EXISTS {database}.graph_traces (trace_id String, trace_key Int64, trace_time Int64,"
        f" gen UInt64, bucket Int64, key String, {counts}, first Float64, last Float64,"
        " hist_ms Array(Int32), hist_n Array(Int64))"
        " ENGINE = MergeTree PARTITION BY intDiv(bucket, 86400) ORDER BY (bucket, key, trace_key)",
        f"CREATE TABLE IF NOT EXISTS {database}.graph_cursor (at UInt64, cursor Int64)"
        " ENGINE = MergeTree ORDER BY at",
    ]


class ClickHouseGraph:
    def __init__(
        self, database: str, segments: str, execute: Execute, insert: Callable[[str, list[Any]], None]
    ) -> None:
        self.db = database
        self.segments = segments
        self.execute = execute
        self.insert = insert
        self.settle = SETTLE_SECONDS

    def cursor(self) -> int:
        rows = self.execute(f"SELECT argMax(cursor, at), count() FROM {self.db}.graph_cursor", [])
        return int(rows[0][0]) if rows and rows[0][1] else -1

    def changes(self, after: int) -> list[tuple[str, int]]:
        # A scan of one integer column; ``received`` cannot bound it (documents may carry
        # any arrival time, e.g. replays), so it reads every partition's ``written``.
        rows = self.execute(
            f"SELECT trace_id, max(written) AS pos FROM {self.segments}"
            " WHERE written > ? AND written <= toUInt64(now()) - ?"
            " GROUP BY trace_id ORDER BY pos, trace_id",
            [max(after, 0), self.settle],
        )
        return [(str(r[0]), int(r[1])) for r in rows]

    def replace(self, rows: dict[str, list[GraphRow]], cursor: int) -> None:
        gen = time.time_ns()
        cols: list[list[Any]] = [[] for _ in _COLUMNS]
        for trace_id, trace_rows in rows.items():
            key, start = trace_key(trace_id), int(trace_id[2:10], 16)
            marker = GraphRow(start // 60 * 60, "", 0, 0, 0, 0, 0, 0.0, 0, 0.0, 0.0, {})
            for r in [marker, *trace_rows]:
                hist = sorted(r.histogram.items())
                values = [trace_id, key, start, gen, r.bucket, r.key, *(getattr(r, c) for c in _COUNTS), r.first,
                          r.last, [ms for ms, _ in hist], [n for _, n in hist]]  # fmt: skip
                for col, value in zip(cols, values):
                    col.append(value)
        if rows:
            self.insert(f"INSERT INTO {self.db}.graph_traces ({', '.join(_COLUMNS)}) VALUES", cols)
        self.insert(f"INSERT INTO {self.db}.graph_cursor (at, cursor) VALUES", [[gen], [cursor]])

    def _current(self, lo: float, end: float) -> tuple[str, list[Any]]:
        """Rows of each trace's newest generation with buckets in ``[lo, end)``."""
        return (
            f"bucket >= ? AND bucket < ? AND key != '' AND (trace_key, trace_id, gen) IN"
            f" (SELECT trace_key, trace_id, max(gen) FROM {self.db}.graph_traces"
            "  WHERE trace_time >= ? AND trace_time < ? GROUP BY trace_key, trace_id)",
            [lo, float(end), math.floor(lo) - _TRACE_SPAN, float(end)],
        )

    def keys(self, start: float, end: float) -> list[str]:
        where, params = self._current(math.floor(start / 60) * 60, end)
        rows = self.execute(
            f"SELECT key FROM {self.db}.graph_traces WHERE {where} GROUP BY key HAVING sum(samples) > 0",
            params,
        )
        return [str(r[0]) for r in rows]

    def rows(
        self, start: float, end: float, period: int | None, keys: Sequence[str] | None
    ) -> list[GraphRow]:
        lo = math.floor(start / 60) * 60
        bucket = f"intDiv(bucket, {int(period)}) * {int(period)}" if period else str(int(lo))
        where, params = self._current(lo, end)
        if keys is not None:
            if not keys:
                return []
            where += " AND key IN ?"
            params.append(tuple(keys))
        sums = ", ".join(f"sum({c})" for c in _COUNTS)
        out = []
        for r in self.execute(
            f"SELECT {bucket} AS b, key, {sums}, min(first), max(last), sumMap(hist_ms, hist_n)"
            f" FROM {self.db}.graph_traces WHERE {where} GROUP BY b, key HAVING sum(samples) > 0",
            params,
        ):
            ms, n = r[11]
            hist = {int(m): int(c) for m, c in zip(ms, n) if c > 0}
            out.append(GraphRow(int(r[0]), str(r[1]), int(r[2]), int(r[3]), int(r[4]), int(r[5]), int(r[6]),
                                float(r[7]), int(r[8]), float(r[9]), float(r[10]), hist))  # fmt: skip
        return out

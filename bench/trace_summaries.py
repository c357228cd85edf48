"""GetTraceSummaries in process (no HTTP), on a copy of a file ``bench/query.py`` loaded.

    python bench/trace_summaries.py --db /path/traces.duckdb [--runs 10] [--keep]

The file is copied first (opening it may migrate it), the store is opened,
and if the store keeps a per-trace table the script waits until its
summarizer has caught up (that time is the back-fill throughput).  Then
``QueryService.get_trace_summaries`` is timed for single keywords and
annotation filters over the data's hour, with the load average beside every
figure: on a shared machine the load says how far to trust a number.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import db_usage, machine  # noqa: E402

EXPRESSIONS = [
    "",
    'annotation.customer = "c{n}"',
    "fault",
    "responsetime > 0.2",
    'http.method = "POST"',
    "annotation.tier",
    'user = "u{n}"',
    'http.url CONTAINS "item/12"',
    "error AND duration > 0.3",
]


def _hour(path: str) -> tuple[float, int]:
    import duckdb

    conn = duckdb.connect(path, read_only=True)
    try:
        row = conn.execute("SELECT max(start_time), count(*) FROM segments").fetchone()
    finally:
        conn.close()
    assert row is not None
    return float(row[0]), int(row[1])


def steady(path: str, cycles: int, per_cycle: int) -> None:
    """The summarizer's steady state: write ``per_cycle`` segments, run one cycle, repeat."""
    from bench._common import typical_batches
    from fluoro.store.duckdb import DuckDBConfig, DuckDBStore

    store = DuckDBStore(DuckDBConfig(path=path, summarize_every=0))
    try:
        store.wait_summarized(3600.0)
        walls, cpus = [], []
        ids: list[str] = []
        for batch in typical_batches(per_cycle * cycles, time.time() + 7200, ids, per_batch=per_cycle):
            store.write(batch)
            cpu, wall = time.process_time(), time.perf_counter()
            store.summarize()
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        wall_s, cpu_s = statistics.median(walls), statistics.median(cpus)
        print(f"steady state, cycles of {per_cycle} segments: wall median {1000 * wall_s:.1f} ms (max {1000 * max(walls):.1f}),"
              f" CPU median {1000 * cpu_s:.1f} ms: {per_cycle / wall_s:,.0f} segments/s; {_load()}")  # fmt: skip
    finally:
        store.close()


def _load() -> str:
    return "load %.2f" % os.getloadavg()[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True, help="a file bench/query.py loaded (it is copied, never modified)")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--keep", action="store_true", help="time the given file itself, not a copy")
    parser.add_argument("--range-types", default="TraceId,Event,Service")
    parser.add_argument("--steady", type=int, default=0, help="instead: N summarizer cycles of --per-cycle new segments")
    parser.add_argument("--per-cycle", type=int, default=7500, help="segments per cycle (0.3 s at 25,000/s)")
    args = parser.parse_args()
    from fluoro.query.service import QueryService
    from fluoro.store import open_store

    print(f"# bench/trace_summaries.py on {machine()}")
    path = args.db
    if not args.keep:
        path = os.path.join(tempfile.mkdtemp(prefix="fluoro-summaries-"), "traces.duckdb")
        shutil.copyfile(args.db, path)
        if os.path.isdir(args.db + ".docs"):  # the documents live beside the file
            shutil.copytree(args.db + ".docs", path + ".docs")
    if args.steady:
        steady(path, args.steady, args.per_cycle)
        if not args.keep:
            shutil.rmtree(os.path.dirname(path), ignore_errors=True)
        return
    now, segments = _hour(path)
    size0, used0 = db_usage(path)
    opened = time.perf_counter()
    store = open_store(path)
    print(f"opened {segments} segments in {time.perf_counter() - opened:.2f}s ({_load()})")
    wait: Callable[[float], bool] | None = getattr(store, "wait_summarized", None)
    if wait is not None:  # the background summarizer starts on open; this thread helps it finish
        caught_up = wait(3600.0)
        elapsed = time.perf_counter() - opened
        print(f"summarizer back-fill: {segments} segments in {elapsed:.1f}s"
              f" ({segments / elapsed:,.0f} segments/s, caught up: {caught_up}, {_load()})")  # fmt: skip
        store.checkpoint()
        size1 = os.path.getsize(path)
        row = store._db.execute("SELECT block_size, used_blocks FROM pragma_database_size()").fetchone()  # type: ignore[attr-defined]
        used1 = int(row[0]) * int(row[1])
        print(f"file {size0 / segments:.1f} -> {size1 / segments:.1f} B/segment,"
              f" used blocks {used0 / segments:.1f} -> {used1 / segments:.1f} B/segment")  # fmt: skip
    service = QueryService(store)
    rng = random.Random(7)
    try:
        for range_type in args.range_types.split(","):
            for expression in EXPRESSIONS:
                body: dict[str, Any] = {"StartTime": now - 3600, "EndTime": now + 1, "TimeRangeType": range_type}

                def call(expression: str = expression, body: dict[str, Any] = body) -> int:
                    text = expression.format(n=rng.randrange(1000))
                    out = service.get_trace_summaries({**body, "FilterExpression": text} if text else body)
                    return len(out["TraceSummaries"])

                call()  # warm
                samples, found = [], 0
                load_before = _load()
                for _ in range(args.runs):
                    t = time.perf_counter()
                    found = call()
                    samples.append(time.perf_counter() - t)
                s = sorted(samples)
                print(f"{range_type:8} {expression or '(no filter)':32} median {1000 * statistics.median(s):7.1f} ms"
                      f"  max {1000 * s[-1]:7.1f} ms  ({found} summaries; {load_before}, {_load()})")  # fmt: skip
    finally:
        store.close()
        if not args.keep:
            shutil.rmtree(os.path.dirname(path), ignore_errors=True)


if __name__ == "__main__":
    main()

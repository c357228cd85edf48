"""Store CPU benchmark: CPU time per stored segment, by stage, in one process on a real DuckDB file.

    python bench/store_cpu.py [--segments 200000] [--batch 6250] [--per-trace 1] [--profile write]

Replays what the server's store does at 25,000 segments/s: a flush of ``--batch``
documents every 0.25 s (``DuckDBStore.write``), a summarizer cycle every 4 flushes
(1 s), a graph rollup cycle (written 2,000 traces at a time, as the server runs it) and a
checkpoint every 8 flushes (2 s).  Stages run one after another on the calling
thread, so each gets its own numbers: the calling thread's CPU (Python, and DuckDB
work done on that thread) and the rest of the process's CPU meanwhile (DuckDB's
worker threads).  Documents are what ``bench/ingest.py`` sends (one typical SDK
segment per trace unless ``--per-trace``), parsed up front by the real ingest code.
Prints microseconds of CPU per stored segment and bytes on disk per segment.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import json
import os
import pstats
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import db_usage, dumps, machine, typical_segment  # noqa: E402


def batches(segments: int, per_batch: int, per_trace: int, now: float) -> list[Any]:
    from fluoro.ingest import ingest
    from fluoro.store.api import SegmentBatch
    from fluoro.store.columns import ArrowBatch

    rng = random.Random(42)
    out = []
    batch = SegmentBatch()
    for i in range(segments // per_trace):
        t = now - 30 + 30 * i / (segments // per_trace)
        root = typical_segment(rng, t)
        ingest(batch, dumps(root), t)
        for _ in range(per_trace - 1):
            child = typical_segment(rng, t, trace_id=root["trace_id"])
            child["parent_id"] = root["subsegments"][1]["id"]
            child.pop("annotations")
            ingest(batch, dumps(child), t)
        if len(batch) >= per_batch:
            out.append(ArrowBatch.from_batch(batch))
            batch = SegmentBatch()
    if len(batch):
        out.append(ArrowBatch.from_batch(batch))
    return out


class Stages:
    """CPU seconds per stage: (this thread, the rest of the process) and wall seconds."""

    def __init__(self, profile: str | None) -> None:
        self.spent: dict[str, list[float]] = {}
        self.profile = profile
        self.profiler = cProfile.Profile() if profile else None

    def run(self, name: str, fn: Callable[[], Any]) -> Any:
        profiling = self.profiler is not None and name == self.profile
        wall, thread, process = time.perf_counter(), time.thread_time(), time.process_time()
        if profiling:
            self.profiler.enable()  # type: ignore[union-attr]
        try:
            return fn()
        finally:
            if profiling:
                self.profiler.disable()  # type: ignore[union-attr]
            thread = time.thread_time() - thread
            process = time.process_time() - process
            wall = time.perf_counter() - wall
            acc = self.spent.setdefault(name, [0.0, 0.0, 0.0])
            acc[0] += thread
            acc[1] += max(0.0, process - thread)
            acc[2] += wall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--segments", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=6_250, help="documents per flush (25,000/s x 0.25 s)")
    parser.add_argument("--per-trace", type=int, default=1, help="segments per trace (bench/ingest.py: 1)")
    parser.add_argument("--profile", choices=["write", "summarize", "rollup", "checkpoint"],
                        help="print the top functions (cProfile) of one stage")  # fmt: skip
    parser.add_argument("--no-rollup", action="store_true")
    parser.add_argument("--threads", type=int, default=2, help="DuckDB threads (the server: 2)")
    parser.add_argument("--checkpoint-batches", type=int, default=8, help="flushes between checkpoints (8: 2 s)")
    args = parser.parse_args()

    from fluoro.query.rollup import GraphRollup
    from fluoro.store.duckdb import DuckDBConfig, DuckDBStore

    print(f"# bench/store_cpu.py on {machine()}")
    data = batches(args.segments, args.batch, args.per_trace, time.time())
    stored = sum(len(b) for b in data)
    tmp = tempfile.mkdtemp(prefix="fluoro-store-cpu-")
    path = os.path.join(tmp, "traces.duckdb")
    # Background threads off: this loop runs each of them in turn, on the server's schedule.
    store = DuckDBStore(DuckDBConfig(path=path, checkpoint_every=0, summarize_every=0, threads=args.threads))
    rollup = GraphRollup(store, interval=2.0, batch_traces=2000, compute_traces=250)  # as the server
    stages = Stages(args.profile)
    for i, batch in enumerate(data, 1):
        stages.run("write", functools.partial(store.write, batch))
        if i % 4 == 0 or i == len(data):
            stages.run("summarize", store.summarize)
        if (i % 8 == 0 or i == len(data)) and not args.no_rollup:
            stages.run("rollup", rollup.run_once)
        if i % args.checkpoint_batches == 0 or i == len(data):
            stages.run("checkpoint", store.checkpoint)
    store.close()
    size, used = db_usage(path)
    result: dict[str, float] = {"segments": stored, "batches": len(data)}
    total = 0.0
    for name, (thread, rest, wall) in stages.spent.items():
        result[f"{name} us/seg thread"] = 1e6 * thread / stored
        result[f"{name} us/seg other threads"] = 1e6 * rest / stored
        result[f"{name} wall ms/batch"] = 1e3 * wall / len(data)
        total += thread + rest
    result["total us/seg"] = 1e6 * total / stored
    result["file_bytes_per_segment"] = size / stored
    result["used_bytes_per_segment"] = used / stored
    print(json.dumps({k: round(v, 2) for k, v in result.items()}, indent=1))
    if stages.profiler is not None:
        pstats.Stats(stages.profiler).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()

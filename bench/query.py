"""Query benchmark: 1,000,000 stored segments, then BatchGetTraces, GetTraceSummaries,
GetServiceGraph and GetTimeSeriesServiceStatistics over HTTP.

    python bench/query.py [--segments 1000000] [--only graph]

Data: the last hour, traces of 1 root segment plus 3 child segments (4 documents),
each root annotated customer=c<0..999>.  Loaded straight into the DuckDB file
(ingest speed is bench/ingest.py's job), the service-graph rollup then catches
up on all of it (timed: that is the rollup's throughput), then a real server
is started on it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import db_usage, free_port, machine, rss_mb, spawn, typical_batches  # noqa: E402


def load(path: str, segments: int, now: float) -> list[str]:
    from fluoro.store import open_store

    store = open_store(path)
    trace_ids: list[str] = []
    for batch in typical_batches(segments, now, trace_ids, per_batch=40_000):
        store.write(batch)
    store.close()
    return trace_ids


def rollup(path: str) -> int:
    """Run the service-graph rollup over everything stored, as the server's background thread would."""
    from fluoro.query.rollup import GraphRollup
    from fluoro.store import open_store

    store = open_store(path)
    try:
        return GraphRollup(store, batch_traces=5000).run_once()
    finally:
        store.close()


def summarize(path: str) -> tuple[int, float]:
    """Fill the DuckDB store's per-trace table, as the server's summarizer would: (segments, seconds)."""
    from fluoro.store import open_store

    t = time.perf_counter()
    store = open_store(path)
    try:
        wait = getattr(store, "wait_summarized", None)
        if wait is not None:
            wait(3600.0)
        return int(store.stats()["segments"]), time.perf_counter() - t
    finally:
        store.close()


def _reuse(db: str) -> tuple[float, list[str]]:
    import duckdb

    from fluoro.store.duckdb.trace_table import trace_id

    conn = duckdb.connect(db, read_only=True)
    try:
        row = conn.execute("SELECT max(start_time) FROM segments").fetchone()
        ids = [trace_id(*r) for r in conn.execute(
            "SELECT trace_time, hi, trace_key FROM segments WHERE parent_id IS NULL").fetchall()]  # fmt: skip
    finally:
        conn.close()
    return float(row[0]) if row else time.time(), ids


def timed(fn: object, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append(time.perf_counter() - t)
    return out


def summary(samples: list[float]) -> dict[str, float]:
    s = sorted(samples)
    return {"median_ms": 1000 * statistics.median(s), "p99_ms": 1000 * s[min(len(s) - 1, int(len(s) * 0.99))]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--segments", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--only", choices=["graph", "summaries"], help="run only the service-graph or only the trace queries")
    parser.add_argument("--db", help="reuse a file an earlier run loaded (its hour is taken from the data)")
    args = parser.parse_args()
    import httpx

    print(f"# bench/query.py on {machine()}")
    if args.db:
        db, (now, trace_ids) = args.db, _reuse(args.db)
        print(f"reusing {db}: {len(trace_ids)} traces")
    else:
        db = os.path.join(tempfile.mkdtemp(prefix="fluoro-query-"), "traces.duckdb")
        now = time.time()
        t = time.perf_counter()
        trace_ids = load(db, args.segments, now)
        size, used = db_usage(db)
        print(f"loaded {args.segments} segments ({len(trace_ids)} traces) in {time.perf_counter() - t:.1f}s; "
              f"file {size / args.segments:.0f} bytes/segment, used blocks {used / args.segments:.0f} bytes/segment")  # fmt: skip
    t = time.perf_counter()
    rolled = rollup(db)
    elapsed = time.perf_counter() - t
    rate = f", {args.segments / elapsed:.0f} segments/s" if not args.db else ""
    print(f"service-graph rollup: {rolled} traces in {elapsed:.1f}s{rate}")
    summarized, elapsed = summarize(db)
    print(f"trace table: {summarized} segments covered in {elapsed:.1f}s (open and summarize)")
    port = free_port()
    proc = spawn(port, db)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
    rng = random.Random(1)

    def post(path: str, body: dict) -> dict:  # type: ignore[type-arg]
        r = client.post(path, content=json.dumps(body))
        r.raise_for_status()
        return r.json()  # type: ignore[no-any-return]

    def batch_get() -> None:
        ids = rng.sample(trace_ids, 5)
        out = post("/Traces", {"TraceIds": ids})
        assert len(out["Traces"]) == 5 and all(len(tr["Segments"]) >= 4 for tr in out["Traces"])

    def summaries_annotation() -> None:
        out = post("/TraceSummaries", {"StartTime": now - 3600, "EndTime": now + 1,
                                       "FilterExpression": f'annotation.customer = "c{rng.randrange(1000)}"'})  # fmt: skip
        assert out["TraceSummaries"]

    def summaries_plain() -> None:
        post("/TraceSummaries", {"StartTime": now - 3600, "EndTime": now + 1})

    def summaries_flags() -> None:
        post("/TraceSummaries", {"StartTime": now - 3600, "EndTime": now + 1, "FilterExpression": "fault AND responsetime > 0.1"})

    def service_graph() -> None:
        out = post("/ServiceGraph", {"StartTime": now - 3600, "EndTime": now + 1})
        assert sum(s.get("SummaryStatistics", {}).get("TotalCount", 0) for s in out["Services"]) >= args.segments

    def time_series() -> None:
        out = post("/TimeSeriesServiceStatistics", {"StartTime": now - 3600, "EndTime": now + 1, "Period": 60,
                                                    "EntitySelectorExpression": 'service("checkout")'})  # fmt: skip
        assert len(out["TimeSeriesServiceStatistics"]) >= 60

    def filtered(expression: str) -> object:
        def call() -> None:
            out = post("/TraceSummaries", {"StartTime": now - 3600, "EndTime": now + 1, "FilterExpression": expression})
            assert "TraceSummaries" in out

        return call

    results = {}
    if args.only != "graph":
        for fn in (batch_get, summaries_annotation):  # warm caches
            timed(fn, 3)
        results.update({
            "BatchGetTraces(5)": summary(timed(batch_get, args.runs)),
            "GetTraceSummaries 1h annotation filter": summary(timed(summaries_annotation, args.runs)),
            "GetTraceSummaries 1h fault+responsetime": summary(timed(summaries_flags, max(5, args.runs // 5))),
            "GetTraceSummaries 1h no filter": summary(timed(summaries_plain, max(5, args.runs // 5))),
        })  # fmt: skip
        # Issue [4]: single keywords (pushed down to SQL) and service()/edge()/rootcause (evaluated
        # on assembled candidate traces, a page at a time, after the rollup's node facts narrowed them).
        for expression in ("fault", "responsetime > 0.2", 'http.method = "POST"', "annotation.tier",
                           'service("payments") { fault }', "service() { error }", 'edge("checkout", "payments")',
                           'rootcause.fault.service { name = "payments" }'):  # fmt: skip
            results[f"GetTraceSummaries 1h {expression}"] = summary(timed(filtered(expression), max(5, args.runs // 5)))
    if args.only != "summaries":
        timed(service_graph, 3)
        results["GetServiceGraph 1h"] = summary(timed(service_graph, args.runs))
        results["GetTimeSeriesServiceStatistics 1h, 60 s, one service"] = summary(timed(time_series, args.runs))
    for name, r in results.items():
        print(f"{name}: median {r['median_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms")
    print("note: the last three are evaluated in Python on candidate traces; a page may be short (NextToken)")
    print(f"server RSS after queries: {rss_mb(proc.pid):.0f} MB, load average {os.getloadavg()[0]:.2f}")
    proc.terminate()
    proc.wait(60)


if __name__ == "__main__":
    main()

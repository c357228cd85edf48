"""Scale benchmark (issue [8]): ClickHouse vs the embedded DuckDB store on the same data,
one shard vs two, and ingest through one fluoro server vs two.

    python bench/scale.py [--segments 200000] [--http-docs 40000]

Part 1, store level (in-process, same ``ArrowBatch`` objects for every backend):
bulk ingest rate, then median query latency of ``documents`` (5 traces) and
``find_traces`` over the last hour.  "ClickHouse x2" writes alternate batches to
two ``clickhouse-server`` processes (two shards) and reads through
``Distributed`` tables.
Part 2, server level: ``PutTraceSegments`` over HTTP from two loader
processes into one ``fluoro server`` or into two (one loader each), both on
one ClickHouse; a call counts once it returned 200 (committed).

Every ClickHouse here is a private ``clickhouse-server`` (Debian's package).
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import free_port, machine, spawn, typical_batches, typical_segment  # noqa: E402
from fluoro.store.clickhouse.sandbox import ClickHouseSandbox  # noqa: E402


def build_batches(segments: int, now: float, per_batch: int = 10_000) -> tuple[list[Any], list[str]]:
    trace_ids: list[str] = []
    return list(typical_batches(segments, now, trace_ids, per_batch)), trace_ids


def median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return 1000 * statistics.median(samples)


def store_level(args: argparse.Namespace, single: ClickHouseSandbox, shards: list[ClickHouseSandbox]) -> None:
    from fluoro.query.filters import parse
    from fluoro.store import open_store
    from fluoro.store.api import TraceQuery

    now = time.time()
    t = time.perf_counter()
    batches, trace_ids = build_batches(args.segments, now)
    print(f"built {args.segments} segments ({len(trace_ids)} traces) in {time.perf_counter() - t:.1f}s")
    tmp = tempfile.mkdtemp(prefix="fluoro-scale-")
    backends: dict[str, tuple[list[Any], Any]] = {}
    duck = open_store(f"{tmp}/traces.duckdb")
    backends["DuckDB file"] = ([duck], duck)
    ch = open_store(single.url("scale"))
    backends["ClickHouse x1"] = ([ch], ch)
    nodes = [open_store(node.url("scale", cluster="fluoro_test")) for node in shards]
    backends["ClickHouse x2"] = (nodes, nodes[0])
    rng = random.Random(1)
    queries: dict[str, Callable[[Any], object]] = {
        "documents(5 traces)": lambda s: s.documents(rng.sample(trace_ids, 5)),
        "find_traces 1h, no filter": lambda s: s.find_traces(TraceQuery(now - 3600, now + 1)),
        "find_traces 1h, annotation": lambda s: s.find_traces(
            TraceQuery(now - 3600, now + 1, filter=parse(f'annotation.customer = "c{rng.randrange(1000)}"'))),
        "find_traces 1h, fault+responsetime": lambda s: s.find_traces(
            TraceQuery(now - 3600, now + 1, filter=parse("fault AND responsetime > 0.1"))),
    }  # fmt: skip
    rates: dict[str, float] = {}
    latency: dict[str, dict[str, float]] = {}
    for name, (writers, reader) in backends.items():
        t = time.perf_counter()
        for i, batch in enumerate(batches):
            writers[i % len(writers)].write(batch)
        rates[name] = args.segments / (time.perf_counter() - t)
        latency[name] = {
            q: median_ms(lambda q=q, reader=reader: queries[q](reader), args.runs) for q in queries
        }
        hits = len(reader.find_traces(TraceQuery(now - 3600, now + 1, limit=1000)).hits)
        assert hits == 1000, f"{name}: {hits} hits"
        assert len(reader.documents(trace_ids[:5])) >= 20
    for store in (duck, ch, *nodes):
        store.close()
    names = list(backends)
    print(f"\n{'store level':40}" + "".join(f"{n:>16}" for n in names) + f"{'x1/DuckDB':>12}{'x2/x1':>8}")
    print(f"{'ingest, segments/s':40}" + "".join(f"{rates[n]:>16,.0f}" for n in names)
          + f"{rates[names[1]] / rates[names[0]]:>11.2f}x{rates[names[2]] / rates[names[1]]:>7.2f}x")  # fmt: skip
    for q in queries:
        row = [latency[n][q] for n in names]
        print(f"{q + ', median ms':40}" + "".join(f"{v:>16.1f}" for v in row)
              + f"{row[1] / row[0]:>11.2f}x{row[2] / row[1]:>7.2f}x")  # fmt: skip


def _loader(port: int, bodies: list[bytes], out: Any, connections: int) -> None:
    """``connections`` concurrent clients, as many application hosts would be."""
    import threading

    counts: list[int] = []

    def client(part: list[bytes]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        accepted = 0
        for body in part:
            conn.request("POST", "/TraceSegments", body=body, headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            data = response.read()
            if response.status != 200:
                raise RuntimeError(f"PutTraceSegments answered {response.status}: {data[:200]!r}")
            accepted += 50 - len(json.loads(data)["UnprocessedTraceSegments"])
        counts.append(accepted)

    threads = [threading.Thread(target=client, args=(bodies[i::connections],)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put(sum(counts))


def server_level(args: argparse.Namespace, single: ClickHouseSandbox) -> None:
    rng = random.Random(7)
    now = time.time()
    docs = [json.dumps(typical_segment(rng, now - rng.random() * 600)) for _ in range(args.http_docs)]
    bodies = [
        json.dumps({"TraceSegmentDocuments": docs[i : i + 50]}).encode() for i in range(0, len(docs), 50)
    ]
    halves = [bodies[0::2], bodies[1::2]]
    results: dict[str, float] = {}
    tmp = tempfile.mkdtemp(prefix="fluoro-scale-http-")
    setups = {"duckdb": (1, f"{tmp}/traces.duckdb"), "1": (1, single.url("scale_http_1")),
              "2": (2, single.url("scale_http_2"))}  # fmt: skip
    for name, (servers, url) in setups.items():
        ports = [free_port() for _ in range(servers)]
        procs = [spawn(p, url) for p in ports]
        try:
            queue: Any = multiprocessing.Queue()
            loaders = [multiprocessing.Process(target=_loader, args=(ports[i % servers], halves[i], queue,
                                                                       args.connections))
                       for i in range(2)]  # fmt: skip
            t = time.perf_counter()
            for p in loaders:
                p.start()
            accepted = sum(queue.get(timeout=600) for _ in loaders)
            elapsed = time.perf_counter() - t
            for p in loaders:
                p.join()
            assert accepted == len(docs), (accepted, len(docs))
            results[name] = accepted / elapsed
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(60)
    print(f"\n{'server level (PutTraceSegments, 2 loaders)':52}{'docs/s':>10}")
    print(f"{'one fluoro server, DuckDB file (reference)':52}{results['duckdb']:>10,.0f}")
    print(f"{'one fluoro server, ClickHouse':52}{results['1']:>10,.0f}")
    ratio = results["2"] / results["1"]
    print(f"{'two fluoro servers, one ClickHouse':52}{results['2']:>10,.0f}   ratio {ratio:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--segments", type=int, default=200_000)
    parser.add_argument("--http-docs", type=int, default=40_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--part", choices=["all", "store", "server"], default="all")
    parser.add_argument("--connections", type=int, default=8, help="concurrent HTTP clients per loader")
    args = parser.parse_args()
    print(f"# bench/scale.py on {machine()}")
    ports = [free_port(), free_port()]
    shards = [ClickHouseSandbox(tcp_port=p, cluster_ports=ports) for p in ports]
    single = ClickHouseSandbox()
    try:
        for node in (single, *shards):
            node.start()
        from clickhouse_driver import Client

        print(f"ClickHouse {Client('127.0.0.1', port=single.tcp_port).execute('SELECT version()')[0][0]}")
        if args.part in ("all", "store"):
            store_level(args, single, shards)
        if args.part in ("all", "server"):
            server_level(args, single)
    finally:
        for node in (single, *shards):
            node.cleanup()


if __name__ == "__main__":
    main()

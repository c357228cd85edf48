"""Ingest benchmark: UDP → stored, on a real DuckDB file.

    python bench/ingest.py [--rate N] [--seconds S] [--max]

Phases (each on a fresh server):
  max        send as fast as one sender process can, report stored/s
  sustained  --rate segments/s for --seconds, report loss, send→visible p99, RSS, bytes/segment
The sender runs in a separate process (multiprocessing), sharing the 2 cores with the server.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import (  # noqa: E402
    HEADER,
    cpu_by_thread,
    db_usage,
    dumps,
    free_port,
    machine,
    metrics,
    rss_mb,
    spawn,
    typical_segment,
)

POOL = 20_000  # pre-encoded distinct datagrams; ids and trace ids are rewritten per send to stay unique


def _sender(port: int, rate: float, seconds: float, seed: int, out: mp.Queue[tuple[int, float, float, int]]) -> None:
    rng = random.Random(seed)
    now = time.time()
    # Each pooled datagram is edited in place per send, to be a new trace (one request each) of
    # the current second, as an SDK's trace id is: at each of ``places`` (the trace id in the
    # segment and its subsegments) the id's time (8 hex digits) and its last 12 random ones,
    # and a unique segment id at ``at`` (after '"id":"').  Editing costs the sender a fraction
    # of rebuilding the bytes; it shares the two cores with the server.
    pool: list[tuple[bytearray, list[int], int]] = []
    for _ in range(POOL):
        doc = typical_segment(rng, now)
        data = HEADER + dumps(doc)
        trace_id = doc["trace_id"].encode()
        places, i = [], data.find(trace_id)
        while i >= 0:
            places.append(i)
            i = data.find(trace_id, i + 1)
        pool.append((bytearray(data), places, data.index(b'"id":"') + 6))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * 1024 * 1024)
    # Connected, as a long-lived emitter can be: no address to resolve per send.
    sock.connect(("127.0.0.1", port))
    send = sock.send
    sent = errors = 0
    start = time.perf_counter()
    end = start + seconds
    prefix = f"{seed:04x}".encode()
    while True:
        t = time.perf_counter()
        if t >= end:
            break
        target = int((t - start) * rate) + 1 if rate > 0 else sent + 200
        stamp = b"%08x" % int(time.time())
        while sent < target:
            data, places, at = pool[sent % POOL]
            unique = b"%012x" % sent
            for place in places:
                data[place + 2 : place + 10] = stamp
                data[place + 23 : place + 35] = unique
            data[at : at + 16] = prefix + unique
            try:
                send(data)
            except OSError:
                errors += 1
            sent += 1
        if rate > 0:
            time.sleep(0.001)
    out.put((sent, time.process_time(), start, errors))


def _visibility_probe(port: int, stop: threading.Event, latencies: list[float]) -> None:
    """Send a marked segment every 0.5 s; poll GetTraceSummaries until it shows up."""
    import boto3

    xray = boto3.client("xray", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                        aws_access_key_id="x", aws_secret_access_key="x")  # fmt: skip
    rng = random.Random(7)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    while not stop.is_set():
        now = time.time()
        doc = typical_segment(rng, now)
        doc["annotations"]["probe"] = marker = f"p{rng.getrandbits(40):x}"
        sent = time.perf_counter()
        sock.sendto(HEADER + dumps(doc), ("127.0.0.1", port))
        deadline = sent + 10
        while time.perf_counter() < deadline:
            out = xray.get_trace_summaries(StartTime=now - 5, EndTime=now + 5,
                                           FilterExpression=f'annotation.probe = "{marker}"')  # fmt: skip
            if out["TraceSummaries"]:
                latencies.append(time.perf_counter() - sent)
                break
            time.sleep(0.05)  # 20 polls a second: finer costs the server CPU the ingest needs
        stop.wait(0.5)


def run(rate: float, seconds: float, probe: bool) -> dict[str, float]:
    tmp = tempfile.mkdtemp(prefix="fluoro-bench-")
    db = os.path.join(tmp, "traces.duckdb")
    port = free_port()
    proc = spawn(port, db)
    latencies: list[float] = []
    stop = threading.Event()
    prober = threading.Thread(target=_visibility_probe, args=(port, stop, latencies), daemon=True)
    if probe:
        prober.start()
    q: mp.Queue[tuple[int, float, float, int]] = mp.Queue()
    sender = mp.Process(target=_sender, args=(port, rate, seconds, 1, q))
    peak_rss = 0.0
    cpu_before = cpu_by_thread(proc.pid)
    t0 = time.perf_counter()
    sender.start()
    while sender.is_alive():
        peak_rss = max(peak_rss, rss_mb(proc.pid))
        time.sleep(0.2)
    sent, sender_cpu, send_start, send_errors = q.get()  # perf_counter is the system's monotonic clock on Linux
    if not t0 <= send_start <= time.perf_counter():
        send_start = t0
    send_seconds = time.perf_counter() - send_start
    stop.set()
    # Wait for the queue to drain: stored stops changing for 1 s with nothing queued.  The
    # rate counts until the first poll (every 0.1 s) that saw the final count.
    last, last_at, drained = -1.0, time.perf_counter(), 0.0
    while True:
        m = metrics(port)
        peak_rss = max(peak_rss, rss_mb(proc.pid))
        now = time.perf_counter()
        if m["fluoro_segments_stored_total"] != last:
            last, last_at, drained = m["fluoro_segments_stored_total"], now, now - send_start
        elif m["fluoro_queue_depth"] == 0 and now - last_at >= 1.0:
            break
        time.sleep(0.1)
    if probe:
        prober.join(15)
    m = metrics(port)
    cpu_after = cpu_by_thread(proc.pid)
    proc.terminate()
    proc.wait(60)
    size, used = db_usage(db)
    stored = m["fluoro_segments_stored_total"] - len(latencies)
    result = {
        "sent": sent, "send_errors": send_errors, "send_seconds": send_seconds, "received": m["fluoro_segments_received_total"],
        "dropped": m["fluoro_segments_dropped_total"], "stored": stored, "stored_per_s": stored / drained,
        "lost": sent - stored, "peak_rss_mb": peak_rss, "file_bytes_per_segment": size / max(stored, 1),
        "used_bytes_per_segment": used / max(stored, 1),
        "flush_p_mean_ms": 1000 * m["fluoro_flush_seconds_sum"] / max(m["fluoro_flush_seconds_count"], 1),
    }  # fmt: skip
    # Where the two cores went, in CPU seconds per stored segment (µs) and in % of one core.
    spent = {k: v - cpu_before.get(k, 0.0) for k, v in cpu_after.items()}
    spent["sender"] = sender_cpu
    for name, secs in sorted(spent.items(), key=lambda kv: -kv[1]):
        if secs >= 0.05:
            result[f"cpu_us_per_seg {name}"] = 1e6 * secs / max(stored, 1)
    if latencies:
        lat = sorted(latencies)
        result["visible_p50_s"] = statistics.median(lat)
        result["visible_p99_s"] = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        result["visible_max_s"] = lat[-1]
        result["probes"] = len(lat)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=25_000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--max-seconds", type=float, default=20)
    parser.add_argument("--skip-max", action="store_true")
    parser.add_argument("--skip-sustained", action="store_true")
    parser.add_argument("--no-probe", action="store_true", help="no visibility probe (its queries cost CPU too)")
    args = parser.parse_args()
    print(f"# bench/ingest.py on {machine()}")
    if not args.skip_max:
        r = run(0, args.max_seconds, probe=False)
        print("max:", json.dumps({k: round(v, 3) for k, v in r.items()}))
    if not args.skip_sustained:
        r = run(args.rate, args.seconds, probe=not args.no_probe)
        print(f"sustained {args.rate:.0f}/s:", json.dumps({k: round(v, 3) for k, v in r.items()}))


if __name__ == "__main__":
    main()

"""Shared bench helpers: realistic documents, a server subprocess, process RSS."""

from __future__ import annotations

import json
import os
import platform
import random
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

REPO = Path(__file__).resolve().parents[1]
HEADER = b'{"format":"json","version":1}\n'


def machine() -> str:
    model = "unknown"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return f"{os.cpu_count()} cpu ({model}), Python {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"


def typical_segment(rng: random.Random, now: float, trace_id: str | None = None, customers: int = 1000) -> dict[str, Any]:
    """What the Python SDK sends for a small web request with one DynamoDB and one HTTP call."""
    tid = trace_id or f"1-{int(now):08x}-{rng.getrandbits(96):024x}"
    start = now - rng.random() * 0.5
    end = start + 0.05 + rng.random() * 0.2
    status = rng.choice([200] * 18 + [404, 500])
    return {
        "id": f"{rng.getrandbits(64):016x}",
        "name": rng.choice(["checkout", "catalog", "users", "payments"]),
        "start_time": start,
        "trace_id": tid,
        "end_time": end,
        "in_progress": False,
        "http": {
            "request": {"method": rng.choice(["GET", "POST"]), "url": f"http://shop.local/api/item/{rng.randrange(10000)}",
                        "client_ip": f"10.0.0.{rng.randrange(255)}", "user_agent": "python-requests/2.31"},
            "response": {"status": status, "content_length": rng.randrange(100, 5000)},
        },
        "fault": status >= 500,
        "error": 400 <= status < 500,
        "annotations": {"customer": f"c{rng.randrange(customers)}", "tier": rng.choice(["gold", "free"])},
        "aws": {"xray": {"sdk": "X-Ray for Python", "sdk_version": "2.15.0"}},
        "service": {"runtime": "CPython", "runtime_version": "3.11.9"},
        "subsegments": [
            {"id": f"{rng.getrandbits(64):016x}", "name": "dynamodb", "start_time": start + 0.01, "end_time": start + 0.03,
             "namespace": "aws", "in_progress": False, "type": "subsegment", "trace_id": tid,
             "aws": {"operation": "GetItem", "region": "us-east-1", "request_id": f"{rng.getrandbits(128):032X}",
                     "table_name": "items", "retries": 0},
             "http": {"response": {"status": 200, "content_length": 120}}},
            {"id": f"{rng.getrandbits(64):016x}", "name": "inventory.local", "start_time": start + 0.03,
             "end_time": start + 0.04, "namespace": "remote", "in_progress": False, "type": "subsegment", "trace_id": tid,
             "http": {"request": {"url": "http://inventory.local/stock", "method": "GET"}, "response": {"status": 200}}},
        ],
    }  # fmt: skip


def free_port() -> int:
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return int(port)


def spawn(port: int, store: str, *extra: str) -> subprocess.Popen[bytes]:
    import httpx

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "fluoro.cli", "server", "--port", str(port), "--store", store, "--log-level", "warning", *extra],
        cwd=str(REPO), env=env,
    )  # fmt: skip
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start")


def _family(pid: int) -> list[int]:
    """``pid`` and its children (the UDP receiver process)."""
    pids = [pid]
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():  # children are listed per thread
            try:
                pids += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                pass
    except OSError:
        pass
    return pids


def cpu_by_thread(pid: int) -> dict[str, float]:
    """CPU seconds (user + system) so far of every thread of ``pid`` and its children, by name.

    Names are "process/thread" (threads named alike are summed), so a benchmark can say
    where the CPU budget of the two cores goes.
    """
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for p in _family(pid):
        try:
            proc = Path(f"/proc/{p}/comm").read_text().strip()
            tasks = list(Path(f"/proc/{p}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                stat = (task / "stat").read_text()
            except OSError:
                continue
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            fields = stat[stat.rindex(")") + 2 :].split()
            key = f"{'child ' if p != pid else ''}{proc}/{name}"
            out[key] = out.get(key, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` plus its children (the UDP receiver process)."""
    total = 0.0
    for p in _family(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            pass
    return total


def metrics(port: int) -> dict[str, float]:
    import httpx

    out: dict[str, float] = {}
    for line in httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            key = name.split("{")[0]
            out[key] = out.get(key, 0.0) + float(value)
    return out


def db_usage(path: str) -> tuple[int, int]:
    """(bytes on disk: the file, its WAL and the document files beside it; the same counting only
    the file's used blocks, since free blocks are reused by later writes)."""
    import duckdb

    docs = Path(path + ".docs")
    doc_bytes = sum(p.stat().st_size for p in docs.iterdir()) if docs.is_dir() else 0
    size = sum(Path(p).stat().st_size for p in (path, path + ".wal") if Path(p).exists()) + doc_bytes
    conn = duckdb.connect(path, read_only=True)
    try:
        row = conn.execute("SELECT block_size, used_blocks FROM pragma_database_size()").fetchone()
    finally:
        conn.close()
    return size, (int(row[0]) * int(row[1]) if row else size) + doc_bytes


def dumps(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def typical_batches(segments: int, now: float, trace_ids: list[str], per_batch: int = 10_000) -> Iterator[Any]:
    """The last hour's traffic as store batches (``ArrowBatch``): traces of 4 typical segments.

    Roots carry the annotations; each trace's id is appended to ``trace_ids``.
    """
    from fluoro.ingest import ingest
    from fluoro.store.api import SegmentBatch
    from fluoro.store.columns import ArrowBatch

    rng = random.Random(42)
    batch = SegmentBatch()
    traces = segments // 4
    for i in range(traces):
        t = now - 3600 + 3600 * i / traces
        root = typical_segment(rng, t)
        trace_ids.append(root["trace_id"])
        ingest(batch, dumps(root), t)
        for _ in range(3):
            child = typical_segment(rng, t, trace_id=root["trace_id"])
            child["parent_id"] = root["subsegments"][1]["id"]
            child.pop("annotations")
            ingest(batch, dumps(child), t)
        if len(batch) >= per_batch:
            yield ArrowBatch.from_batch(batch)
            batch = SegmentBatch()
    if len(batch):
        yield ArrowBatch.from_batch(batch)

"""Several ``fluoro server`` processes (the real CLI) on one ClickHouse: a server killed
during load leaves the other's clients working, and nothing acknowledged is lost."""

from __future__ import annotations

import json
import signal
import threading
import uuid

from fluoro.store.clickhouse.sandbox import ClickHouseSandbox

from .helpers import free_port, send_udp, spawn_server, wait_for, xray_client
from .helpers_docs import segment


def _found(port: int, trace_ids: list[str]) -> set[str]:
    xray = xray_client(port)
    found: set[str] = set()
    for i in range(0, len(trace_ids), 5):
        found |= {t["Id"] for t in xray.batch_get_traces(TraceIds=trace_ids[i : i + 5])["Traces"]}
    return found


def test_kill_one_server_under_load(clickhouse: ClickHouseSandbox) -> None:
    url = clickhouse.url(f"fluoro_kill_{uuid.uuid4().hex[:8]}")
    ports = [free_port(), free_port()]
    procs = [spawn_server(p, url) for p in ports]  # UDP parsed in a child process, as deployed
    try:
        # UDP through the CLI server's receiver process reaches ClickHouse.
        udp_doc = segment()
        send_udp(ports[0], [json.dumps(udp_doc).encode()])
        assert wait_for(lambda: _found(ports[1], [udp_doc["trace_id"]]))

        acknowledged: dict[int, list[str]] = {0: [], 1: []}
        failures: dict[int, int] = {0: 0, 1: 0}
        stop = threading.Event()

        def client(i: int) -> None:
            xray = xray_client(ports[i])
            while not stop.is_set():
                docs = [segment() for _ in range(10)]
                try:
                    out = xray.put_trace_segments(TraceSegmentDocuments=[json.dumps(d) for d in docs])
                except Exception:  # the killed server's clients see connection errors
                    failures[i] += 1
                    if failures[i] > 3:
                        return
                    continue
                assert out["UnprocessedTraceSegments"] == []
                acknowledged[i] += [d["trace_id"] for d in docs]

        threads = [threading.Thread(target=client, args=(i,)) for i in (0, 1)]
        for t in threads:
            t.start()
        assert wait_for(lambda: len(acknowledged[0]) >= 50 and len(acknowledged[1]) >= 50, timeout=60)
        procs[0].send_signal(signal.SIGKILL)
        procs[0].wait(30)
        before = len(acknowledged[1])
        assert wait_for(lambda: len(acknowledged[1]) >= before + 100, timeout=60)  # the other keeps working
        stop.set()
        for t in threads:
            t.join(60)
        assert failures[1] == 0 and failures[0] > 0
        everything = acknowledged[0] + acknowledged[1]
        assert _found(ports[1], everything) == set(everything)  # nothing acknowledged was lost
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(60)
        for proc in procs:
            if proc.stdout is not None:
                proc.stdout.close()

"""Process lifecycle with a real DuckDB file: SIGTERM loses nothing, kill -9 loses no
acknowledged HTTP data, and the store opens cleanly afterwards."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from .helpers import free_port, send_udp, spawn_server, wait_for, xray_client
from .helpers_docs import new_trace_id, segment


def _count(xray: Any, trace_ids: list[str]) -> int:
    found = 0
    for i in range(0, len(trace_ids), 5):
        found += len(xray.batch_get_traces(TraceIds=trace_ids[i : i + 5])["Traces"])
    return found


def test_sigterm_flushes_everything_received(tmp_path: Path) -> None:
    db = str(tmp_path / "traces.duckdb")
    port = free_port()
    # A long flush interval: only the shutdown path can have stored the UDP documents.
    proc = spawn_server(port, db, "--flush-interval", "30")
    docs = [segment(new_trace_id()) for _ in range(2000)]
    send_udp(port, [json.dumps(d).encode() for d in docs[:1000]])
    xray = xray_client(port)
    assert xray.put_trace_segments(TraceSegmentDocuments=[json.dumps(d) for d in docs[1000:]])[
        "UnprocessedTraceSegments"
    ] == []
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    conn = duckdb.connect(db, read_only=True)
    stored = {r[0] for r in conn.execute("SELECT id FROM segments").fetchall()}
    conn.close()
    assert stored == {d["id"] for d in docs}


@pytest.mark.timeout(120)
def test_kill_9_keeps_acknowledged_data_and_reopens(tmp_path: Path) -> None:
    db = str(tmp_path / "traces.duckdb")
    port = free_port()
    proc = spawn_server(port, db)
    xray = xray_client(port)
    acked = [segment(new_trace_id()) for _ in range(300)]
    for i in range(0, len(acked), 50):
        out = xray.put_trace_segments(TraceSegmentDocuments=[json.dumps(d) for d in acked[i : i + 50]])
        assert out["UnprocessedTraceSegments"] == []
    udp_docs = [segment(new_trace_id()) for _ in range(200)]
    send_udp(port, [json.dumps(d).encode() for d in udp_docs])
    # Wait until the UDP documents are visible (flushed), then kill without warning.
    trace_ids = [d["trace_id"] for d in udp_docs]
    assert wait_for(lambda: _count(xray, trace_ids[-5:]) == 5)
    proc.kill()
    proc.wait(timeout=30)
    proc = spawn_server(port, db)
    try:
        xray = xray_client(port)
        assert _count(xray, [d["trace_id"] for d in acked]) == len(acked)
        # More arrive after a restart, on the same file.
        late = segment(new_trace_id())
        xray.put_trace_segments(TraceSegmentDocuments=[json.dumps(late)])
        assert _count(xray, [late["trace_id"]]) == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


def _children(task: Path) -> list[str]:
    """Children started by one thread (Linux lists them per thread)."""
    try:
        return (task / "children").read_text().split()
    except OSError:
        return []


def _receiver_pid(server_pid: int) -> int | None:
    """The server's UDP receiver child (not multiprocessing's resource tracker), if running."""
    children = [c for task in Path(f"/proc/{server_pid}/task").iterdir() for c in _children(task)]
    for child in children:
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"resource_tracker" not in cmdline:
            return int(child)
    return None


def test_udp_receiver_process_is_restarted(tmp_path: Path) -> None:
    port = free_port()
    proc = spawn_server(port, "memory")
    try:
        xray = xray_client(port)
        first = _receiver_pid(proc.pid)
        assert first is not None
        os.kill(first, signal.SIGKILL)
        assert wait_for(lambda: _receiver_pid(proc.pid) not in (None, first))
        doc = segment(new_trace_id())

        def arrived() -> bool:
            send_udp(port, [json.dumps(doc).encode()])  # resend until the new receiver is bound
            return _count(xray, [doc["trace_id"]]) == 1

        assert wait_for(arrived, interval=0.2)
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)

"""``fluoro daemon``: real UDP in, a real central fluoro server out, and the central server
stopped and restarted under load (retry with backoff, bounded buffer, drop-oldest)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any, Iterator

import httpx
import pytest

from fluoro.daemon.pipeline import PipelineConfig
from fluoro.forwarder import Forwarder, ForwarderConfig, SequencedBuffer
from fluoro.server import FluoroServer, ServerConfig

from .helpers import REPO, free_port, send_udp, start_server, wait_for, xray_client
from .helpers_docs import new_trace_id, segment


def _found(port: int, trace_ids: list[str]) -> set[str]:
    xray = xray_client(port)
    found: set[str] = set()
    for i in range(0, len(trace_ids), 5):
        found |= {t["Id"] for t in xray.batch_get_traces(TraceIds=trace_ids[i : i + 5])["Traces"]}
    return found


def _central(port: int) -> FluoroServer:
    config = ServerConfig(
        port=port, store="memory", log_level="warning", pipeline=PipelineConfig(flush_interval=0.05)
    )
    return FluoroServer(config).start_in_thread()


@pytest.fixture
def central() -> Iterator[FluoroServer]:
    srv = start_server()
    yield srv
    srv.stop()


def _forwarder(central_port: int, **overrides: Any) -> Forwarder:
    cfg = ForwarderConfig(central=f"http://127.0.0.1:{central_port}", port=0, flush_interval=0.02,
                          backoff_initial=0.05, backoff_max=0.3, timeout=2.0, **overrides)  # fmt: skip
    return Forwarder(cfg).start()


def test_buffer_drops_oldest_and_ack_skips_what_was_dropped() -> None:
    buf = SequencedBuffer(max_bytes=30)
    assert [buf.put(b"x" * 10) for _ in range(3)] == [0, 0, 0]
    last, docs = buf.peek(2, 1000)
    assert (last, len(docs)) == (1, 2)
    assert buf.put(b"y" * 10) == 1  # document 0 dropped while 0..1 are being sent
    buf.ack(last)  # removes 1 only; 0 is already gone
    assert buf.peek(10, 1000) == (3, [b"x" * 10, b"y" * 10])


def test_udp_documents_reach_the_central_server(central: FluoroServer) -> None:
    fwd = _forwarder(central.port, batch_docs=50)
    try:
        docs = [segment() for _ in range(230)]
        bad_trace = segment(trace_id="1-zzzzzzzz-000000000000000000000000")
        send_udp(fwd.port, [json.dumps(d).encode() for d in docs] + [json.dumps(bad_trace).encode()])
        send_udp(fwd.port, [b"no header here"], header=b"")
        ids = [d["trace_id"] for d in docs]
        assert wait_for(lambda: fwd.metrics.forwarded == 230 and fwd.metrics.unprocessed == 1)
        assert _found(central.port, ids) == set(ids)
        m = fwd.metrics.snapshot()
        assert (m["received"], m["rejected"], m["dropped"], m["buffered_documents"]) == (232, 1, 0, 0)
        assert m["batches"] >= 5  # batched: at most 50 documents a call
        status = httpx.get(f"http://127.0.0.1:{fwd.port}/metrics").text
        assert "fluoro_forwarder_forwarded_total 230" in status
    finally:
        fwd.stop()


def test_tcp_api_is_proxied_to_the_central_server(central: FluoroServer) -> None:
    fwd = _forwarder(central.port)
    try:
        via_daemon, direct = xray_client(fwd.port), xray_client(central.port)
        doc = segment()
        assert (
            via_daemon.put_trace_segments(TraceSegmentDocuments=[json.dumps(doc)])["UnprocessedTraceSegments"]
            == []
        )
        assert _found(central.port, [doc["trace_id"]]) == {doc["trace_id"]}

        def outcome(client: Any) -> Any:
            try:
                return client.get_sampling_rules()["SamplingRuleRecords"]
            except client.exceptions.ClientError as exc:
                return exc.response["Error"], exc.response["ResponseMetadata"]["HTTPStatusCode"]

        assert outcome(via_daemon) == outcome(direct)  # sampling answers are the central server's
    finally:
        fwd.stop()


def test_central_down_then_back_keeps_newest_within_the_bound() -> None:
    port = free_port()
    srv = _central(port)
    docs = [segment(new_trace_id()) for _ in range(120)]
    size = len(json.dumps(docs[0]).encode())
    # Room for about 40 documents: the rest must be dropped, oldest first.
    fwd = _forwarder(port, buffer_bytes=40 * size + size // 2, batch_docs=10)
    try:
        first = [segment() for _ in range(5)]
        send_udp(fwd.port, [json.dumps(d).encode() for d in first])
        assert wait_for(lambda: fwd.metrics.forwarded == 5)
        srv.stop()
        send_udp(fwd.port, [json.dumps(d).encode() for d in docs])
        assert wait_for(lambda: fwd.metrics.send_failures >= 3 and fwd.metrics.received == 125)
        health = httpx.get(f"http://127.0.0.1:{fwd.port}/healthz")
        assert health.status_code == 503 and health.json()["central_up"] is False
        dropped = fwd.metrics.dropped
        assert 75 <= dropped <= 85 and len(fwd.buffer) == 120 - dropped
        srv = _central(port)  # back on the same port: the forwarder recovers by itself
        assert wait_for(lambda: len(fwd.buffer) == 0)
        ids = [d["trace_id"] for d in docs]
        kept = ids[dropped:]
        assert _found(port, ids) == set(kept)  # the newest survived, the oldest were dropped
        assert fwd.metrics.forwarded == 5 + len(kept) and fwd.metrics.central_up
    finally:
        fwd.stop()
        srv.stop()


def test_cli_daemon_runs_and_stops_cleanly(central: FluoroServer) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "fluoro.cli", "daemon", "--central", f"http://127.0.0.1:{central.port}",
         "--port", str(port), "--log-level", "warning"],
        cwd=str(REPO), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:

        def up() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        assert wait_for(up, timeout=30)
        doc = segment()
        send_udp(port, [json.dumps(doc).encode()])
        assert wait_for(lambda: _found(central.port, [doc["trace_id"]]))
    finally:
        proc.terminate()
        assert proc.wait(30) == 0


def test_bad_central_url_is_refused() -> None:
    with pytest.raises(ValueError, match="http"):
        Forwarder(ForwarderConfig(central="localhost:2000"))

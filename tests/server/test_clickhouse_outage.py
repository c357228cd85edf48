"""ClickHouse stopped during load: the server buffers within its bound, reports unhealthy,
drops the oldest (counted) past the bound, and recovers by itself when ClickHouse returns."""

from __future__ import annotations

import json
from typing import Iterator

import httpx
import pytest

from fluoro.server import FluoroServer
from fluoro.store.clickhouse.sandbox import ClickHouseSandbox, server_command

from .helpers import send_udp, start_server, wait_for, xray_client
from .helpers_docs import segment


@pytest.fixture
def own_clickhouse() -> Iterator[ClickHouseSandbox]:
    if server_command() is None:
        pytest.skip("clickhouse-server is not installed (apt-get install clickhouse-server)")
    sandbox = ClickHouseSandbox().start()
    yield sandbox
    sandbox.cleanup()


def _health(srv: FluoroServer) -> int:
    return httpx.get(f"http://127.0.0.1:{srv.port}/healthz", timeout=5).status_code


def test_outage_buffers_drops_oldest_and_recovers(own_clickhouse: ClickHouseSandbox) -> None:
    docs = [segment(annotations={"pad": "x" * 400}) for _ in range(400)]
    size = len(json.dumps(docs[0]))
    # A queue bound of ~100 documents (each queue entry also counts 64 bytes).
    srv = start_server(own_clickhouse.url("fluoro_outage"), udp_queue_bytes=100 * (size + 100), max_batch=20)
    try:
        send_udp(srv.port, [json.dumps(d).encode() for d in docs[:20]])
        assert wait_for(lambda: srv.metrics.stored == 20)
        own_clickhouse.stop()
        for i in range(20, 400, 20):  # paced, so the receive socket never overflows
            send_udp(srv.port, [json.dumps(d).encode() for d in docs[i : i + 20]])
            wait_for(lambda i=i: srv.metrics.received >= i + 20, timeout=5)
        assert wait_for(lambda: srv.metrics.received == 400)
        assert wait_for(lambda: _health(srv) == 503)
        assert srv.metrics.dropped > 0  # the bound was reached: the oldest went
        # Reads while the store is away: a botocore-parsable 503, never a 500.
        reply = httpx.post(f"http://127.0.0.1:{srv.port}/Traces", json={"TraceIds": [docs[0]["trace_id"]]}, timeout=30)
        assert reply.status_code == 503, reply.text
        assert reply.headers["x-amzn-errortype"] == "ServiceUnavailableException"
        assert "store is unavailable" in reply.json()["message"]
        own_clickhouse.start()
        assert wait_for(lambda: _health(srv) == 200, timeout=60)
        assert wait_for(lambda: srv.metrics.stored + srv.metrics.dropped == 400, timeout=60)
        xray = xray_client(srv.port)
        newest = [d["trace_id"] for d in docs[-50:]]
        found = set()
        for i in range(0, 50, 5):
            found |= {t["Id"] for t in xray.batch_get_traces(TraceIds=newest[i : i + 5])["Traces"]}
        assert found == set(newest)  # what was kept is the newest, and nothing kept was lost
        assert srv.metrics.write_errors == 0
    finally:
        srv.stop()

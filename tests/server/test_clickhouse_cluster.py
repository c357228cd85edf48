"""Two ClickHouse shards behind two fluoro servers: every query from either sees all the data.

Two real ``clickhouse-server`` processes on loopback ports form the
``fluoro_test`` cluster; each fluoro server writes to its own shard and reads
through ``Distributed`` tables.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Iterator

import pytest

from fluoro.server import FluoroServer
from fluoro.store.clickhouse.sandbox import ClickHouseSandbox, free_port, server_command

from .helpers import send_udp, start_server, wait_for, xray_client
from .helpers_docs import new_trace_id, segment


@pytest.fixture(scope="module")
def shards() -> Iterator[list[ClickHouseSandbox]]:
    if server_command() is None:
        pytest.skip("clickhouse-server is not installed (apt-get install clickhouse-server)")
    ports = [free_port(), free_port()]
    nodes = [ClickHouseSandbox(tcp_port=p, cluster_ports=ports) for p in ports]
    try:
        for node in nodes:
            node.start()
        yield nodes
    finally:
        for node in nodes:
            node.cleanup()


@pytest.fixture(scope="module")
def servers(shards: list[ClickHouseSandbox]) -> Iterator[list[FluoroServer]]:
    database = f"fluoro_cluster_{uuid.uuid4().hex[:8]}"
    started = [start_server(node.url(database, cluster="fluoro_test")) for node in shards]
    yield started
    for srv in started:
        srv.stop()


def _put(port: int, *docs: dict[str, Any]) -> None:
    result = xray_client(port).put_trace_segments(TraceSegmentDocuments=[json.dumps(d) for d in docs])
    assert result["UnprocessedTraceSegments"] == []


def _local_count(node: ClickHouseSandbox, database: str) -> int:
    from clickhouse_driver import Client

    client = Client("127.0.0.1", port=node.tcp_port)
    try:
        return int(client.execute(f"SELECT count() FROM {database}.segments_local")[0][0])
    finally:
        client.disconnect()


def test_every_query_from_either_server_sees_both_shards(servers: list[FluoroServer],
                                                         shards: list[ClickHouseSandbox]) -> None:  # fmt: skip
    a, b = servers
    base = int(time.time()) - 1800
    on_a = [segment(new_trace_id(base + i), start_time=base + i, end_time=base + i + 1,
                    annotations={"shard": "a"}) for i in range(5)]  # fmt: skip
    on_b = [segment(new_trace_id(base + 10 + i), start_time=base + 10 + i, end_time=base + 11 + i,
                    annotations={"shard": "b"}, user="bob") for i in range(5)]  # fmt: skip
    split_id = new_trace_id(base + 20)
    root = segment(split_id, start_time=base + 20, end_time=base + 21, annotations={"shard": "a"})
    child = segment(split_id, parent_id=root["id"], start_time=base + 20, end_time=base + 23, user="carol")
    _put(a.port, *on_a, root)
    _put(b.port, *on_b, child)
    udp_doc = segment(new_trace_id(base + 30), start_time=base + 30, end_time=base + 31)
    send_udp(b.port, [json.dumps(udp_doc).encode()])

    # Each shard holds only what its own server received ...
    db = a.store.tables.database  # type: ignore[union-attr]
    assert wait_for(lambda: [_local_count(node, db) for node in shards] == [6, 7])

    # ... and either server answers for both.
    everything = {d["trace_id"] for d in on_a + on_b} | {split_id, udp_doc["trace_id"]}
    for srv in servers:
        xray = xray_client(srv.port)

        def ids(expression: str, xray: Any = xray) -> set[str]:
            out = xray.get_trace_summaries(StartTime=base - 1, EndTime=base + 60, FilterExpression=expression)
            return {s["Id"] for s in out["TraceSummaries"]}

        assert ids("") == everything
        assert ids('annotation.shard = "b"') == {d["trace_id"] for d in on_b}
        # Annotation on shard A, user on shard B, duration from both: one trace.
        assert ids('annotation.shard = "a" AND user = "carol" AND duration >= 3') == {split_id}
        (trace,) = xray.batch_get_traces(TraceIds=[split_id])["Traces"]
        assert {s["Id"] for s in trace["Segments"]} == {root["id"], child["id"]}


def test_configuration_written_through_either_server_is_seen_by_both(servers: list[FluoroServer],
                                                                      shards: list[ClickHouseSandbox]) -> None:  # fmt: skip
    a, b = servers
    xa, xb = xray_client(a.port), xray_client(b.port)
    xb.create_group(GroupName="shard-b-errors", FilterExpression="error")
    assert "shard-b-errors" in {g["GroupName"] for g in xa.get_groups()["Groups"]}
    xa.delete_group(GroupName="shard-b-errors")
    assert "shard-b-errors" not in {g["GroupName"] for g in xb.get_groups()["Groups"]}
    # Both servers keep it on the cluster's first shard, whichever node they write traces to.
    assert a.store.config_node == b.store.config_node == ("127.0.0.1", shards[0].tcp_port)  # type: ignore[union-attr]

"""Two replicas of one ClickHouse shard (ReplicatedMergeTree through a real ZooKeeper).

Each fluoro server writes to the replica it connects to; ClickHouse copies
the parts to the other replica, so either server answers for everything,
and the configuration both share lives on one node.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Iterator

import pytest

from fluoro.server import FluoroServer
from fluoro.store.clickhouse.sandbox import (
    ClickHouseSandbox,
    ZooKeeperSandbox,
    free_port,
    server_command,
    zookeeper_command,
)

from .helpers import start_server, wait_for, xray_client
from .helpers_docs import new_trace_id, segment


@pytest.fixture(scope="module")
def replicas() -> Iterator[list[ClickHouseSandbox]]:
    if server_command() is None:
        pytest.skip("clickhouse-server is not installed (apt-get install clickhouse-server)")
    if zookeeper_command() is None:
        pytest.skip("ZooKeeper is not installed (apt-get install zookeeper)")
    zookeeper = ZooKeeperSandbox().start()
    ports = [free_port(), free_port()]
    nodes = [
        ClickHouseSandbox(
            tcp_port=p,
            cluster_shards=[ports],
            zookeeper_port=zookeeper.port,
            macros={"shard": "01", "replica": f"r{i}"},
        )  # fmt: skip
        for i, p in enumerate(ports)
    ]
    try:
        for node in nodes:
            node.start()
        for node in nodes:  # a JVM on a busy machine can take a while to take sessions
            assert wait_for(lambda node=node: _zookeeper_reachable(node), timeout=90), node.error_log()
        yield nodes
    finally:
        for node in nodes:
            node.cleanup()
        zookeeper.cleanup()


@pytest.fixture(scope="module")
def servers(replicas: list[ClickHouseSandbox]) -> Iterator[list[FluoroServer]]:
    database = f"fluoro_repl_{uuid.uuid4().hex[:8]}"
    started = [start_server(node.url(database, cluster="fluoro_test", replicated="1")) for node in replicas]
    yield started
    for srv in started:
        srv.stop()


def _zookeeper_reachable(node: ClickHouseSandbox) -> bool:
    try:
        return bool(_local(node, "SELECT count() FROM system.zookeeper WHERE path = '/'"))
    except Exception:
        return False


def _local(node: ClickHouseSandbox, sql: str) -> list[Any]:
    from clickhouse_driver import Client

    client = Client("127.0.0.1", port=node.tcp_port)
    try:
        return list(client.execute(sql))
    finally:
        client.disconnect()


def test_replicas_copy_each_others_writes(
    servers: list[FluoroServer], replicas: list[ClickHouseSandbox]
) -> None:
    a, b = servers
    db = a.store.tables.database  # type: ignore[union-attr]
    engine = _local(
        replicas[1], f"SELECT engine FROM system.tables WHERE database = '{db}' AND name = 'segments_local'"
    )
    assert engine == [("ReplicatedMergeTree",)]
    base = int(time.time()) - 600
    on_a = [segment(new_trace_id(base + i), start_time=base + i, end_time=base + i + 1, annotations={"via": "a"})
            for i in range(4)]  # fmt: skip
    on_b = [segment(new_trace_id(base + 10 + i), start_time=base + 10 + i, end_time=base + 11 + i, user="bob")
            for i in range(3)]  # fmt: skip
    for srv, docs in ((a, on_a), (b, on_b)):
        out = xray_client(srv.port).put_trace_segments(TraceSegmentDocuments=[json.dumps(d) for d in docs])
        assert out["UnprocessedTraceSegments"] == []
    # Every replica ends up holding every row, whichever server wrote it.
    assert wait_for(
        lambda: [_local(n, f"SELECT count() FROM {db}.segments_local")[0][0] for n in replicas] == [7, 7]
    )
    assert wait_for(lambda: [_local(n, f"SELECT count() FROM {db}.annotations_local")[0][0] for n in replicas]
                    == [4, 4])  # fmt: skip
    everything = {d["trace_id"] for d in on_a + on_b}
    for srv in servers:
        xray = xray_client(srv.port)
        found = xray.get_trace_summaries(StartTime=base - 1, EndTime=base + 60)["TraceSummaries"]
        # One replica per shard is read: no trace counted twice.
        assert sorted(s["Id"] for s in found) == sorted(everything)
        found = xray.get_trace_summaries(
            StartTime=base - 1, EndTime=base + 60, FilterExpression='annotation.via = "a"'
        )
        assert {s["Id"] for s in found["TraceSummaries"]} == {d["trace_id"] for d in on_a}


def test_configuration_is_shared_across_replicas(servers: list[FluoroServer]) -> None:
    a, b = servers
    xa, xb = xray_client(a.port), xray_client(b.port)
    xa.create_group(GroupName="slow", FilterExpression="responsetime > 2")
    assert "slow" in {g["GroupName"] for g in xb.get_groups()["Groups"]}
    rule = {"RuleName": "checkout", "Priority": 10, "FixedRate": 0.5, "ReservoirSize": 5, "ServiceName": "*",
            "ServiceType": "*", "Host": "*", "HTTPMethod": "*", "URLPath": "/checkout", "ResourceARN": "*",
            "Version": 1}  # fmt: skip
    xb.create_sampling_rule(SamplingRule=rule)
    assert "checkout" in {
        r["SamplingRule"]["RuleName"] for r in xa.get_sampling_rules()["SamplingRuleRecords"]
    }

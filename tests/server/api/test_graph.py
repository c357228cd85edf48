"""GetServiceGraph, GetTraceGraph and GetTimeSeriesServiceStatistics through boto3 and the AWS CLI."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
from botocore.exceptions import ClientError

from fluoro.daemon.pipeline import PipelineConfig
from fluoro.server import FluoroServer, ServerConfig

from ..graph_docs import fixture_traces, lambda_trace
from ..helpers import wait_for, xray_client


@pytest.fixture(scope="module", params=["duckdb", "clickhouse"])
def server(request: pytest.FixtureRequest) -> Iterator[FluoroServer]:
    store = "memory"
    if request.param == "clickhouse":
        store = request.getfixturevalue("clickhouse").url(f"fluoro_graph_{uuid.uuid4().hex[:12]}")
    config = ServerConfig(port=0, store=store, log_level="warning",
                          pipeline=PipelineConfig(flush_interval=0.05), graph_interval=0.1)  # fmt: skip
    srv = FluoroServer(config).start_in_thread()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def xray(server: FluoroServer) -> Any:
    return xray_client(server.port)


def put(xray: Any, docs: list[dict[str, Any]]) -> None:
    out = xray.put_trace_segments(TraceSegmentDocuments=[json.dumps(d) for d in docs])
    assert out["UnprocessedTraceSegments"] == []


def _id(rng: random.Random) -> str:
    return f"{rng.getrandbits(64):016x}"


def _tid(rng: random.Random, at: float) -> str:
    return f"1-{int(at):08x}-{rng.getrandbits(96):024x}"


def by_name(services: list[dict[str, Any]]) -> dict[tuple[str, str | None], dict[str, Any]]:
    return {(s["Name"], s.get("Type")): s for s in services}


def edges_of(services: list[dict[str, Any]]) -> dict[tuple[tuple[str, Any], tuple[str, Any]], dict[str, Any]]:
    names = {s["ReferenceId"]: (s["Name"], s.get("Type")) for s in services}
    return {((s["Name"], s.get("Type")), names[e["ReferenceId"]]): e for s in services for e in s["Edges"]}


def graph_when(xray: Any, start: float, end: float, ready: Any, **extra: Any) -> list[dict[str, Any]]:
    """The graph once ``ready(services)`` holds (the rollup runs every 0.1 s here)."""
    last: list[list[dict[str, Any]]] = [[]]

    def check() -> bool:
        last[0] = xray.get_service_graph(StartTime=start, EndTime=end, **extra)["Services"]
        return bool(ready(last[0]))

    wait_for(check, timeout=20, interval=0.1)
    return last[0]


def test_api_gateway_lambda_dynamodb_s3_arriving_piecewise(xray: Any) -> None:
    rng = random.Random(21)
    base = time.time() - 3 * 86400  # its own window, away from the other scenarios
    statuses = [200] * 6 + [404, 429, 502, 503]
    traces = [lambda_trace(rng, base + 3 * i, status) for i, status in enumerate(statuses)]
    # The stage first, the function's streamed subsegments last, as Lambda delivers them.
    for wave in (slice(1, 2), slice(0, 1), slice(2, 4), slice(4, 7)):
        put(xray, [doc for docs in traces for doc in docs[wave]])
    services = graph_when(xray, base - 60, base + 60,
                          lambda s: ("receipts", "AWS::S3::Bucket") in by_name(s)
                          and by_name(s)[("receipts", "AWS::S3::Bucket")]["SummaryStatistics"]["TotalCount"] == 10)  # fmt: skip
    nodes = by_name(services)
    assert set(nodes) == {("shop/prod", "client"), ("shop/prod", "AWS::ApiGateway::Stage"), ("orders", "AWS::Lambda"),
                          ("orders", "AWS::Lambda::Function"), ("orders", "AWS::DynamoDB::Table"),
                          ("receipts", "AWS::S3::Bucket")}  # fmt: skip
    stage = nodes[("shop/prod", "AWS::ApiGateway::Stage")]
    assert stage["Root"] is True and stage["State"] == "active"
    stats = stage["SummaryStatistics"]
    assert (stats["OkCount"], stats["ErrorStatistics"], stats["FaultStatistics"], stats["TotalCount"]) == (
        6, {"ThrottleCount": 1, "OtherCount": 1, "TotalCount": 2}, {"OtherCount": 2, "TotalCount": 2}, 10)
    assert nodes[("orders", "AWS::DynamoDB::Table")]["State"] == "unknown"
    edges = edges_of(services)
    assert set(edges) == {
        (("shop/prod", "client"), ("shop/prod", "AWS::ApiGateway::Stage")),
        (("shop/prod", "AWS::ApiGateway::Stage"), ("orders", "AWS::Lambda")),
        (("orders", "AWS::Lambda"), ("orders", "AWS::Lambda::Function")),
        (("orders", "AWS::Lambda::Function"), ("orders", "AWS::DynamoDB::Table")),
        (("orders", "AWS::Lambda::Function"), ("receipts", "AWS::S3::Bucket")),
    }
    invoke = edges[(("shop/prod", "AWS::ApiGateway::Stage"), ("orders", "AWS::Lambda"))]["SummaryStatistics"]
    assert invoke["TotalCount"] == 10 and invoke["FaultStatistics"]["TotalCount"] == 2
    assert invoke["TotalResponseTime"] == pytest.approx(10 * 0.289, abs=1e-4)
    function = nodes[("orders", "AWS::Lambda::Function")]["SummaryStatistics"]
    assert function["ErrorStatistics"] == {"ThrottleCount": 1, "OtherCount": 1, "TotalCount": 2}


def test_fan_out_with_broken_call_and_async_link(xray: Any) -> None:
    rng = random.Random(22)
    base = time.time() - 2 * 86400
    docs: list[dict[str, Any]] = []
    late: list[dict[str, Any]] = []
    for i in range(4):
        start = base + 2 * i
        tid = _tid(rng, start)
        calls = {name: _id(rng) for name in ("users", "stock", "payments")}
        subs = [{"id": sid, "name": f"{name}.internal", "namespace": "remote", "start_time": start + 0.01,
                 "end_time": start + 0.11, "http": {"request": {"url": f"http://{name}.internal/", "traced": True},
                                                    "response": {"status": 200}}}
                for name, sid in calls.items()]  # fmt: skip
        docs.append({"id": _id(rng), "trace_id": tid, "name": "gateway", "origin": "AWS::ECS::Container",
                     "start_time": start, "end_time": start + 0.2, "subsegments": subs,
                     "http": {"response": {"status": 200}}})  # fmt: skip
        docs.append({"id": _id(rng), "trace_id": tid, "name": "users", "parent_id": calls["users"],
                     "start_time": start + 0.02, "end_time": start + 0.1})  # fmt: skip
        # payments never reports for now: the trace is broken
        late.append({"id": _id(rng), "trace_id": tid, "name": "payments", "parent_id": calls["payments"],
                     "start_time": start + 0.02, "end_time": start + 0.09})  # fmt: skip
    consumer_tid = _tid(rng, base + 30)
    producer_tid = _tid(rng, base + 29)
    docs.append({"id": _id(rng), "trace_id": producer_tid, "name": "stock", "start_time": base + 29,
                 "end_time": base + 29.5, "links": [{"trace_id": consumer_tid, "id": _id(rng), "attributes": {
                     "aws.xray.reserved.names": ["restock"], "aws.xray.reserved.type": "AWS::Lambda",
                     "aws.xray.reserved.reference_type": "child",
                     "aws.xray.reserved.received_event_end_time": base + 29.75}}]})  # fmt: skip
    put(xray, docs)
    window = (base - 60, base + 120)
    services = graph_when(xray, *window, lambda s: ("restock", "AWS::Lambda") in by_name(s))
    edges = edges_of(services)
    gateway = ("gateway", "AWS::ECS::Container")
    assert {target for (source, target) in edges if source == gateway} == {
        ("users", None), ("stock.internal", "remote"), ("payments.internal", "remote")}  # fmt: skip
    assert edges[(gateway, ("users", None))]["Aliases"] == [
        {"Name": "users.internal", "Names": ["users.internal"], "Type": "remote"}]  # fmt: skip
    link = edges[(("stock", None), ("restock", "AWS::Lambda"))]
    assert link["EdgeType"] == "link" and "ResponseTimeHistogram" not in link
    assert link["ReceivedEventAgeHistogram"] == [{"Value": 0.25, "Count": 1}]
    assert by_name(services)[("payments.internal", "remote")]["SummaryStatistics"]["TotalCount"] == 4
    put(xray, late)  # the callee finally reports: the inferred node gives way to the real one
    services = graph_when(xray, *window, lambda s: ("payments", None) in by_name(s)
                          and ("payments.internal", "remote") not in by_name(s))  # fmt: skip
    edges = edges_of(services)
    assert edges[(gateway, ("payments", None))]["SummaryStatistics"]["TotalCount"] == 4
    assert ("payments.internal", "remote") not in by_name(services)
    assert by_name(services)[gateway]["SummaryStatistics"]["TotalCount"] == 4  # counted once, not twice


def test_trace_graph_of_the_real_api_gateway_trace(xray: Any) -> None:
    ((trace_id, docs),) = fixture_traces("osp7-apigw-lambda-dynamodb-and-lambda-invoke.json")
    put(xray, docs)
    services = wait_for(lambda: xray.get_trace_graph(TraceIds=[trace_id])["Services"])
    assert set(by_name(services)) == {
        ("dev-todo-list-app/dev", "client"), ("dev-todo-list-app/dev", "AWS::ApiGateway::Stage"),
        ("todo-list-app-dev-postTask", "AWS::Lambda"), ("todo-list-app-dev-postTask", "AWS::Lambda::Function"),
        ("todo-list-app-dev-sendNotification", "AWS::Lambda"),
        ("todo-list-app-dev-sendNotification", "AWS::Lambda::Function"), ("todo-list-tasks", "AWS::DynamoDB::Table"),
    }  # fmt: skip
    function = by_name(services)[("todo-list-app-dev-postTask", "AWS::Lambda::Function")]
    assert function["AccountId"] == "263792328682"
    assert len(edges_of(services)) == 6


def test_group_default_and_unknown_group(xray: Any) -> None:
    now = time.time()
    xray.get_service_graph(StartTime=now - 60, EndTime=now, GroupName="Default")
    default_arn = xray.get_group(GroupName="Default")["Group"]["GroupARN"]
    xray.get_service_graph(StartTime=now - 60, EndTime=now, GroupARN=default_arn)
    with pytest.raises(ClientError) as exc:
        xray.get_service_graph(StartTime=now - 60, EndTime=now, GroupName="nope")
    assert exc.value.response["Error"]["Code"] == "InvalidRequestException"
    assert "nope" in exc.value.response["Error"]["Message"]


@pytest.mark.parametrize(("call", "message"), [
    (lambda x: x.get_service_graph(StartTime=10, EndTime=5), "EndTime"),
    (lambda x: x.get_trace_graph(TraceIds=[f"1-5f187253-{i:024x}" for i in range(6)]), "maximum"),
    (lambda x: x.get_trace_graph(TraceIds=["nope"]), "Invalid trace id"),
    (lambda x: x.get_time_series_service_statistics(StartTime=0, EndTime=60, Period=120), "[60, 300]"),
    (lambda x: x.get_time_series_service_statistics(StartTime=0, EndTime=60, EntitySelectorExpression='service("a"'),
     "EntitySelectorExpression"),
    (lambda x: x.get_time_series_service_statistics(StartTime=0, EndTime=60, EntitySelectorExpression="rootcause()"),
     "EntitySelectorExpression"),
])  # fmt: skip
def test_bad_requests_are_precise_4xx(xray: Any, call: Any, message: str) -> None:
    with pytest.raises(ClientError) as exc:
        call(xray)
    error = exc.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Code"] == "InvalidRequestException" and message in error["Error"]["Message"]


def test_aws_cli_get_service_graph_and_time_series(server: FluoroServer, xray: Any) -> None:
    aws = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")
    if aws is None:
        pytest.skip("the AWS CLI is not installed (pip install awscli)")
    rng = random.Random(23)
    base = time.time() - 86400
    put(xray, [doc for i in range(3) for doc in lambda_trace(rng, base + i, 200)])
    graph_when(xray, base - 60, base + 60, lambda s: ("receipts", "AWS::S3::Bucket") in by_name(s))
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_PAGER": ""}  # fmt: skip
    common = ["--endpoint-url", f"http://127.0.0.1:{server.port}", "--output", "json"]
    out = subprocess.run([aws, "xray", "get-service-graph", "--start-time", str(int(base - 60)),
                          "--end-time", str(int(base + 60)), *common],
                         capture_output=True, text=True, env=env, timeout=120, check=True)  # fmt: skip
    services = json.loads(out.stdout)["Services"]
    assert by_name(services)[("shop/prod", "AWS::ApiGateway::Stage")]["SummaryStatistics"]["TotalCount"] == 3
    out = subprocess.run([aws, "xray", "get-time-series-service-statistics", "--start-time", str(int(base - 60)),
                          "--end-time", str(int(base + 60)), "--period", "300",
                          "--entity-selector-expression", 'service("receipts")', *common],
                         capture_output=True, text=True, env=env, timeout=120, check=True)  # fmt: skip
    series = json.loads(out.stdout)["TimeSeriesServiceStatistics"]
    assert sum(e["ServiceSummaryStatistics"]["TotalCount"] for e in series) == 3



def test_a_created_group_restricts_the_graph_to_its_traces(xray: Any) -> None:
    """CreateGroup's filter (the groups store) is what GetServiceGraph applies for that group."""
    rng = random.Random(77)
    base = time.time() - 5 * 86400  # its own window
    traces = [lambda_trace(rng, base + 2 * i, status) for i, status in enumerate([200, 200, 200, 503, 503])]
    put(xray, [doc for docs in traces for doc in docs])
    xray.create_group(GroupName="only-faults", FilterExpression="fault")
    start, end = base - 60, base + 120
    everything = graph_when(xray, start, end, lambda s: any(
        n.get("SummaryStatistics", {}).get("TotalCount") == 5 for n in s if n.get("Type") == "AWS::ApiGateway::Stage"))
    stage_all = by_name(everything)[("shop/prod", "AWS::ApiGateway::Stage")]
    assert stage_all["SummaryStatistics"]["TotalCount"] == 5
    faults = xray.get_service_graph(StartTime=start, EndTime=end, GroupName="only-faults")["Services"]
    stage = by_name(faults)[("shop/prod", "AWS::ApiGateway::Stage")]
    assert stage["SummaryStatistics"]["TotalCount"] == 2
    assert stage["SummaryStatistics"]["FaultStatistics"]["TotalCount"] == 2
    arn = xray.get_group(GroupName="only-faults")["Group"]["GroupARN"]
    by_arn = xray.get_service_graph(StartTime=start, EndTime=end, GroupARN=arn)["Services"]
    assert by_name(by_arn)[("shop/prod", "AWS::ApiGateway::Stage")]["SummaryStatistics"]["TotalCount"] == 2

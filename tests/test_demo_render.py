"""The demo's terminal renderings, on real X-Ray payloads from the shared fixtures."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from rich.console import Console

from fluoro.demo.show import service_map, timeline, trace_map
from fluoro.local.trace_map import Node, documents, trace_graph

FIXTURES = Path(os.environ.get("FLUORO_FIXTURES", Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"
                               / "xray"))


def fixture(*parts: str) -> dict:
    path = FIXTURES.joinpath(*parts)
    if not path.is_file():
        pytest.skip("not applicable: shared fixtures are not next to this checkout (set FLUORO_FIXTURES)")
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def render(renderable: object) -> str:
    console = Console(width=200, record=True, file=open(os.devnull, "w"))
    console.print(renderable)
    return console.export_text()


def test_trace_map_of_a_real_api_gateway_lambda_trace() -> None:
    docs = documents(fixture("batch-get-traces", "osp7-apigw-lambda-dynamodb-warm.json"))
    nodes, edges = trace_graph(docs)
    stage = Node("dev-todo-list-app/dev", "AWS::ApiGateway::Stage")
    service = Node("todo-list-app-dev-postTask", "AWS::Lambda")
    function = Node("todo-list-app-dev-postTask", "AWS::Lambda::Function")
    table = Node("todo-list-tasks", "AWS::DynamoDB::Table")
    client = Node("dev-todo-list-app/dev", "client")
    assert nodes == {client, stage, service, function, table}
    assert edges == {(client, stage), (stage, service), (service, function), (function, table)}
    text = render(trace_map(docs, "map"))
    assert text.index("dev-todo-list-app/dev client") < text.index("todo-list-tasks AWS::DynamoDB::Table")


def test_timeline_nests_segments_under_their_callers() -> None:
    docs = documents(fixture("batch-get-traces", "osp7-apigw-lambda-dynamodb-warm.json"))
    lines = render(timeline(docs, "timeline")).splitlines()
    order = [next(i for i, line in enumerate(lines) if line.rstrip().endswith(needle)) for needle in (
        "dev-todo-list-app/dev AWS::ApiGateway::Stage", "Lambda aws", "todo-list-app-dev-postTask AWS::Lambda",
        "todo-list-app-dev-postTask AWS::Lambda::Function", "Invocation", "DynamoDB aws",
        "DynamoDB AWS::DynamoDB::Table (inferred)")]
    assert order == sorted(order)
    # Each is indented deeper than the one before: a parent chain, not siblings.
    indents = [len(lines[i]) - len(lines[i].lstrip(" │├└─")) for i in order]
    assert indents == sorted(indents) and len(set(indents)) == len(indents)


def test_service_map_from_get_service_graph() -> None:
    graph = fixture("service-graph", "devguide-client-ec2-dynamodb-sns.json")
    text = render(service_map(graph["Services"], "map"))
    names = [s["Name"] for s in graph["Services"]]
    for name in names:
        assert name in text
    assert "requests, avg" in text


def test_timeline_shows_an_exception_and_its_stack() -> None:
    segment = {"id": "a" * 16, "trace_id": "1-5f84c7a3-0123456789abcdef01234567", "name": "users", "start_time": 1.0,
               "end_time": 1.5, "origin": "AWS::Lambda::Function", "subsegments": [
                   {"id": "b" * 16, "name": "price_plan", "start_time": 1.1, "end_time": 1.2, "fault": True,
                    "cause": {"working_directory": "/var/task", "exceptions": [
                        {"id": "c" * 16, "type": "KeyError", "message": "'enterprise'",
                         "stack": [{"path": "users.py", "line": 50, "label": "price_plan"},
                                   {"path": "users.py", "line": 62, "label": "create_user"}]}]}}]}
    text = render(timeline([segment], "t"))
    assert "fault  price_plan KeyError: 'enterprise' (stack: 2 frames)" in text


def test_service_map_keeps_to_the_named_roots_and_counts_throttles() -> None:
    def stats(total: int, throttles: int) -> dict:
        return {"OkCount": total - throttles, "ErrorStatistics": {"ThrottleCount": throttles, "OtherCount": 0,
                                                                  "TotalCount": throttles},
                "FaultStatistics": {"OtherCount": 0, "TotalCount": 0}, "TotalCount": total, "TotalResponseTime": 0.1}

    services = [
        {"ReferenceId": 0, "Name": "app/demo", "Type": "client", "Edges": [{"ReferenceId": 1,
                                                                          "SummaryStatistics": stats(4, 1)}]},
        {"ReferenceId": 1, "Name": "app/demo", "Type": "AWS::ApiGateway::Stage", "Edges": []},
        {"ReferenceId": 2, "Name": "other/dev", "Type": "client", "Edges": [{"ReferenceId": 3,
                                                                           "SummaryStatistics": stats(2, 0)}]},
        {"ReferenceId": 3, "Name": "other/dev", "Type": "AWS::ApiGateway::Stage", "Edges": []},
    ]
    text = render(service_map(services, "map", root_names={"app/demo"}))
    assert "app/demo AWS::ApiGateway::Stage 4 requests" in text and "(1 throttles)" in text
    assert "other/dev" not in text
    assert "other/dev AWS::ApiGateway::Stage 2 requests" in render(service_map(services, "map"))


def test_sent_table_groups_the_stream_by_kind() -> None:
    from fluoro.demo.show import sent_table
    from fluoro.demo.traffic import Sent, plan

    kinds = plan(10)
    assert kinds[:8] == ["create", "create_pro", "get", "bad_input", "create", "import", "enterprise", "get"]
    assert kinds[8:] == ["create", "create_pro"]
    sent = [Sent(k, "GET" if k == "get" else "POST", "/users/u1" if k == "get" else "/users",
                 201 if k.startswith("create") else 400, "1-x") for k in kinds]
    text = render(sent_table(sent))
    rows = [line for line in text.splitlines() if "a user saved to DynamoDB" in line]
    assert len(rows) == 1 and re.search(r"│ POST /users +│ 3 +│ 3 x 201 +│", rows[0]), text
    assert re.search(r"│ GET /users/\{userId\} +│ 2 +│ 2 x 400 +│", text), text

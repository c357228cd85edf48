"""The demo's terminal renderings, on real X-Ray payloads from the shared fixtures."""

from __future__ import annotations

import json
import os
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

"""The article's example project, unchanged, under ``fluoro local start-api``: real HTTP
requests like the article's curl, a real moto server, the real aws-xray-sdk in the
function, and the segments read back from a real fluoro server with BatchGetTraces."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Iterator

import boto3
import httpx
import pytest

from fluoro.local.start_api import LocalApi, LocalApiConfig
from fluoro.local.trace_map import Node, trace_graph

from .conftest import TraceReader, by_origin, find

# The article's example as bundled with the demo (tests/test_demo.py checks it matches shared/seed/example).
SEED = Path(__file__).resolve().parents[2] / "fluoro" / "demo" / "seed_example"
BODY = {"name": "Test User", "email": "test@example.com"}
STAGE = Node("sam-app/dev", "AWS::ApiGateway::Stage")
CLIENT = Node("sam-app/dev", "client")
SERVICE = Node("sam-app-ProcessUserFunction", "AWS::Lambda")
FUNCTION = Node("sam-app-ProcessUserFunction", "AWS::Lambda::Function")
TABLE = Node("xray-sample-users-table", "AWS::DynamoDB::Table")
BUCKET = Node("sam-app-user-files", "AWS::S3::Bucket")


def post_user(api: LocalApi, path: str = "/dev/users") -> tuple[httpx.Response, str]:
    response = httpx.post(api.url + path, json=BODY, timeout=60)
    return response, response.headers["x-amzn-trace-id"].removeprefix("Root=")


def complete(docs: list[dict[str, Any]], *origins: str) -> bool:
    return all(by_origin(docs, origin) for origin in origins)


@pytest.fixture(scope="module")
def seed_api(xray: TraceReader) -> Iterator[LocalApi]:
    config = LocalApiConfig(template=str(SEED / "template.yaml"), port=0, daemon_address=xray.daemon_address)
    with LocalApi(config).start_in_thread() as api:
        yield api


def test_seed_example_cold_then_warm(seed_api: LocalApi, xray: TraceReader) -> None:
    cold, cold_id = post_user(seed_api)
    warm, warm_id = post_user(seed_api, "/users")  # the bare path answers too
    for response in (cold, warm):
        assert response.status_code == 200, response.text
        assert response.json()["message"] == "User created successfully"

    # The function's boto3 calls really reached moto under the template's resolved names.
    moto = dict(endpoint_url=seed_api.moto.endpoint if seed_api.moto else None, region_name="us-east-1",
                aws_access_key_id="x", aws_secret_access_key="x")
    user_id = cold.json()["userId"]
    item = boto3.client("dynamodb", **moto).get_item(TableName="xray-sample-users-table",
                                                    Key={"userId": {"S": user_id}})["Item"]
    assert item["email"] == {"S": "test@example.com"}
    obj = boto3.client("s3", **moto).get_object(Bucket="sam-app-user-files", Key="users/%s/info.txt" % user_id)
    assert obj["Body"].read() == b"User data for " + user_id.encode()

    need = ("AWS::ApiGateway::Stage", "AWS::Lambda", "AWS::Lambda::Function", "AWS::DynamoDB::Table",
            "AWS::S3::Bucket")
    docs = xray.trace(cold_id, lambda d: complete(d, *need))
    stage, = by_origin(docs, "AWS::ApiGateway::Stage")
    service, = by_origin(docs, "AWS::Lambda")
    function, = by_origin(docs, "AWS::Lambda::Function")

    # API Gateway stage segment, shaped like the real fixtures.
    assert stage["name"] == "sam-app/dev" and "parent_id" not in stage
    api_id = seed_api.template.apis["ApiGateway"].rest_api_id
    assert stage["resource_arn"] == "arn:aws:apigateway:us-east-1::/restapis/%s/stages/dev" % api_id
    assert stage["aws"]["api_gateway"]["stage"] == "dev"
    assert stage["annotations"] == {"aws:api_id": api_id, "aws:api_stage": "dev"}
    assert stage["http"]["request"]["method"] == "POST" and stage["http"]["response"]["status"] == 200
    assert stage["http"]["request"]["url"].endswith("/dev/users")
    invoke, = stage["subsegments"]
    assert (invoke["name"], invoke["namespace"], invoke["aws"]["operation"]) == ("Lambda", "aws", "Invoke")
    assert invoke["aws"]["function_name"] == "sam-app-ProcessUserFunction"

    # Lambda service segment under API Gateway's Lambda subsegment; the function segment under it.
    assert service["parent_id"] == invoke["id"] and service["name"] == "sam-app-ProcessUserFunction"
    assert service["resource_arn"] == "arn:aws:lambda:us-east-1:123456789012:function:sam-app-ProcessUserFunction"
    assert service["http"]["response"]["status"] == 200 and service["aws"]["request_id"]
    assert function["parent_id"] == service["id"]
    assert function["aws"]["function_arn"] == service["resource_arn"]
    names = [s["name"] for s in function["subsegments"]]
    assert sorted(names) == ["Initialization", "Invocation", "Overhead"]  # cold start
    invocation = find(function, "Invocation")
    assert invocation is not None

    # The article's nested subsegments, recorded by the SDK under the Invocation subsegment.
    sub1 = find(invocation, "subsegment_1")
    assert sub1 is not None and sub1["annotations"] == {"annotation1": "annotation test"}
    assert sub1["metadata"] == {"subsegment_1_metadata": {"data": {"key1": "value1"}}}
    sub2 = find(sub1, "subsegment_2")
    assert sub2 is not None and [s["name"] for s in sub2["subsegments"]] == ["subsegment_3-1", "subsegment_3-2"]
    decorated = find(invocation, "xray_function_sample2")
    assert decorated is not None and [s["name"] for s in decorated["subsegments"]] == ["subsegment_1"]

    # boto3 calls: aws subsegments (their "boto test" parent is never closed by the article's code),
    # and the inferred DynamoDB table and S3 bucket segments made from them.
    # (aws-xray-sdk's patch_all also patches pynamodb when it is installed, as in this venv; its
    # patcher records each DynamoDB HTTP send again, nested under the botocore call: an upstream
    # quirk, so only the outermost call of each name is the article's.)
    aws_calls = [d for d in docs if d.get("type") == "subsegment"]
    call_ids = {d["id"] for d in aws_calls}
    calls = {d["name"]: d for d in aws_calls if d.get("parent_id") not in call_ids}
    assert calls["dynamodb"]["aws"]["operation"] == "PutItem" and calls["dynamodb"]["namespace"] == "aws"
    assert calls["s3"]["aws"]["operation"] == "PutObject"
    table, = (t for t in by_origin(docs, "AWS::DynamoDB::Table") if t["parent_id"] == calls["dynamodb"]["id"])
    bucket, = by_origin(docs, "AWS::S3::Bucket")
    assert table["inferred"] and table["parent_id"] == calls["dynamodb"]["id"]
    assert bucket["inferred"] and bucket["parent_id"] == calls["s3"]["id"]

    nodes, edges = trace_graph(docs)
    assert nodes == {CLIENT, STAGE, SERVICE, FUNCTION, TABLE, BUCKET}
    assert edges == {(CLIENT, STAGE), (STAGE, SERVICE), (SERVICE, FUNCTION), (FUNCTION, TABLE), (FUNCTION, BUCKET)}

    # Warm start: no Initialization.
    warm_docs = xray.trace(warm_id, lambda d: complete(d, *need))
    warm_function, = by_origin(warm_docs, "AWS::Lambda::Function")
    assert sorted(s["name"] for s in warm_function["subsegments"]) == ["Invocation", "Overhead"]

    # The SDK's warning about the article's begin_segment, in the function's log.
    logs = "\n".join(seed_api.workers["ProcessUserFunction"].logs)
    assert "[WARNING]" in logs and "Cannot create segments inside Lambda function. Discarded." in logs


@pytest.mark.parametrize(("function_tracing", "sdk_enabled", "expected_nodes"), [
    pytest.param("PassThrough", False, {CLIENT, STAGE, SERVICE}, id="1-api-gateway-only"),
    pytest.param("Active", False, {CLIENT, STAGE, SERVICE, FUNCTION}, id="2-plus-lambda-active"),
    pytest.param(None, True, {CLIENT, STAGE, SERVICE, FUNCTION, TABLE, BUCKET}, id="3-plus-sdk"),
])
def test_the_articles_three_configurations(xray: TraceReader, function_tracing: str | None, sdk_enabled: bool,
                                           expected_nodes: set[Node]) -> None:
    config = LocalApiConfig(template=str(SEED / "template.yaml"), port=0, daemon_address=xray.daemon_address,
                            function_tracing=function_tracing, sdk_enabled=sdk_enabled)
    with LocalApi(config).start_in_thread() as api:
        response, trace_id = post_user(api)
        assert response.status_code == 200
        expected_types = {n.type for n in expected_nodes} - {"client"}
        docs = xray.trace(trace_id, lambda d: expected_types <= {x.get("origin") for x in d})
        # Give stragglers (segments that should not exist) time to arrive before asserting their absence.
        if not sdk_enabled:
            docs = xray.trace(trace_id, lambda d: False, timeout=1.0)
    nodes, edges = trace_graph(docs)
    assert nodes == expected_nodes
    expected_edges = {(CLIENT, STAGE), (STAGE, SERVICE)}
    if FUNCTION in expected_nodes:
        expected_edges.add((SERVICE, FUNCTION))
    if TABLE in expected_nodes:
        expected_edges |= {(FUNCTION, TABLE), (FUNCTION, BUCKET)}
    assert edges == expected_edges
    if function_tracing == "PassThrough":
        # Only API Gateway's view of Lambda: the node is inferred from its Invoke subsegment.
        lambda_doc, = by_origin(docs, "AWS::Lambda")
        assert lambda_doc.get("inferred") is True


def test_seed_with_the_fluoro_import_prefix(tmp_path: Path, xray: TraceReader) -> None:
    """The same project with ``aws_xray_sdk`` replaced by ``fluoro`` traces the same way."""
    shutil.copy(SEED / "template.yaml", tmp_path / "template.yaml")
    (tmp_path / "src").mkdir()
    code = (SEED / "src" / "app.py").read_text()
    assert code.count("from aws_xray_sdk.core import") == 2
    (tmp_path / "src" / "app.py").write_text(code.replace("from aws_xray_sdk.core import", "from fluoro.core import"))
    config = LocalApiConfig(template=str(tmp_path / "template.yaml"), port=0, daemon_address=xray.daemon_address)
    with LocalApi(config).start_in_thread() as api:
        response, trace_id = post_user(api)
        assert response.status_code == 200, response.text
        docs = xray.trace(trace_id, lambda d: complete(d, "AWS::Lambda::Function", "AWS::DynamoDB::Table",
                                                       "AWS::S3::Bucket"))
        logs = "\n".join(api.workers["ProcessUserFunction"].logs)
    nodes, edges = trace_graph(docs)
    assert nodes == {CLIENT, STAGE, SERVICE, FUNCTION, TABLE, BUCKET}
    assert (FUNCTION, TABLE) in edges and (FUNCTION, BUCKET) in edges
    function, = by_origin(docs, "AWS::Lambda::Function")
    invocation = find(function, "Invocation")
    assert invocation is not None and find(invocation, "subsegment_3-2") is not None
    assert "Cannot create segments inside Lambda function. Discarded." in logs

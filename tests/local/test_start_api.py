"""``fluoro local start-api`` on a template of its own: two APIs, two functions, a Lambda
error, a malformed response, a timeout, trace header propagation, and the CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from fluoro.local.resources import free_port
from fluoro.local.start_api import LocalApi, LocalApiConfig

from .conftest import TraceReader, by_origin, find, has

TEMPLATE = """
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  PublicApi:
    Type: AWS::Serverless::Api
    Properties: {StageName: v1, TracingEnabled: true}
  AdminApi:
    Type: AWS::Serverless::Api
    Properties: {Name: admin-api, StageName: admin}
  Handlers:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.11
      Timeout: 1
      Tracing: Active
      Environment: {Variables: {GREETING: !Sub "hello from ${AWS::StackName}"}}
      Events:
        Echo: {Type: Api, Properties: {Path: "/echo/{id}", Method: any, RestApiId: !Ref PublicApi}}
        Boom: {Type: Api, Properties: {Path: /boom, Method: post, RestApiId: !Ref PublicApi}}
        Malformed: {Type: Api, Properties: {Path: /malformed, Method: get, RestApiId: !Ref PublicApi}}
        Slow: {Type: Api, Properties: {Path: /slow, Method: get, RestApiId: !Ref PublicApi}}
        Wait: {Type: Api, Properties: {Path: "/wait/{ms}", Method: get, RestApiId: !Ref PublicApi}}
  Admin:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: admin.handler
      Runtime: python3.11
      Events:
        Stats: {Type: Api, Properties: {Path: /stats, Method: get, RestApiId: !Ref AdminApi}}
  SlowInit:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: slowinit.handler
      Runtime: python3.11
      Timeout: 1
      Tracing: Active
      Events:
        Get: {Type: Api, Properties: {Path: /slowinit, Method: get, RestApiId: !Ref PublicApi}}
  Jobs:
    Type: AWS::SQS::Queue
"""

APP = '''
import json, os, time

def handler(event, context):
    resource = event["resource"]
    if resource == "/boom":
        raise ValueError("kaboom")
    if resource == "/malformed":
        return {"statusCode": 200, "body": {"not": "a string"}}
    if resource == "/slow":
        time.sleep(5)
    if resource == "/wait/{ms}":
        time.sleep(int(event["pathParameters"]["ms"]) / 1000)
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps({
        "event": event, "trace": os.environ["_X_AMZN_TRACE_ID"], "greeting": os.environ["GREETING"],
        "function": context.function_name, "remaining": context.get_remaining_time_in_millis(),
        "task_root": os.environ["LAMBDA_TASK_ROOT"], "pid": os.getpid()})}
'''

SLOW_INIT = '''
import time

time.sleep(1.5)  # longer than the function's 1 s timeout: initialization has its own limit


def handler(event, context):
    return {"statusCode": 200, "body": str(context.get_remaining_time_in_millis())}
'''

ADMIN = '''
import os

def handler(event, context):
    return {"statusCode": 200, "body": os.environ.get("_X_AMZN_TRACE_ID", "")}
'''


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("project")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(APP)
    (root / "src" / "admin.py").write_text(ADMIN)
    (root / "src" / "slowinit.py").write_text(SLOW_INIT)
    (root / "template.yaml").write_text(TEMPLATE)
    return root


@pytest.fixture(scope="module")
def api(project: Path, xray: TraceReader) -> Iterator[LocalApi]:
    config = LocalApiConfig(template=str(project / "template.yaml"), port=0, stack_name="two-apis",
                            daemon_address=xray.daemon_address)
    with LocalApi(config).start_in_thread() as local:
        yield local


def trace_id_of(response: httpx.Response) -> str:
    return response.headers["x-amzn-trace-id"].removeprefix("Root=")


def test_startup_names_what_it_cannot_emulate(api: LocalApi) -> None:
    text = "\n".join(api.describe())
    assert "NOT EMULATED: Jobs (AWS::SQS::Queue)" in text
    assert "API admin-api (AdminApi), stage admin, X-Ray tracing off" in text
    assert "API two-apis (PublicApi), stage v1, X-Ray tracing on" in text


def test_proxy_event_environment_and_trace_header(api: LocalApi, xray: TraceReader, project: Path) -> None:
    incoming = "Root=1-%08x-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1" % int(time.time())
    response = httpx.put(api.url + "/v1/echo/42?x=1&x=2", content=b"payload",
                         headers={"X-Amzn-Trace-Id": incoming, "User-Agent": "curl/8.5"}, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    event = body["event"]
    assert (event["resource"], event["path"], event["httpMethod"]) == ("/echo/{id}", "/echo/42", "PUT")
    assert event["pathParameters"] == {"id": "42"} and event["body"] == "payload"
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"]}
    assert event["requestContext"]["path"] == "/v1/echo/42" and event["requestContext"]["stage"] == "v1"
    assert body["greeting"] == "hello from two-apis" and body["function"] == "two-apis-Handlers"
    assert body["task_root"] == str(project / "src") and 0 < body["remaining"] <= 1000
    root = incoming.split(";")[0].removeprefix("Root=")
    assert trace_id_of(response) == root
    # The function sees the trace continued, with its Invocation subsegment as parent.
    assert body["trace"].startswith("Root=%s;Parent=" % root) and body["trace"].endswith(";Sampled=1")

    docs = xray.trace(root, has("AWS::ApiGateway::Stage", "AWS::Lambda::Function"))
    stage, = by_origin(docs, "AWS::ApiGateway::Stage")
    assert stage["parent_id"] == "53995c3f42cd8ad8" and stage["name"] == "two-apis/v1"
    assert stage["http"]["request"]["user_agent"] == "curl/8.5"
    function, = by_origin(docs, "AWS::Lambda::Function")
    invocation = find(function, "Invocation")
    assert invocation is not None and body["trace"] == "Root=%s;Parent=%s;Sampled=1" % (root, invocation["id"])


def test_warm_worker_is_reused(api: LocalApi) -> None:
    first = httpx.get(api.url + "/v1/echo/1", timeout=30).json()["pid"]
    second = httpx.get(api.url + "/echo/2", timeout=30).json()["pid"]
    assert first == second


def test_concurrent_requests_scale_out_to_more_workers(api: LocalApi) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        responses = list(pool.map(lambda _: httpx.get(api.url + "/v1/wait/700", timeout=30), range(2)))
    assert [r.status_code for r in responses] == [200, 200]
    assert len({r.json()["pid"] for r in responses}) == 2


def test_initialization_does_not_count_against_the_timeout(api: LocalApi, xray: TraceReader) -> None:
    response = httpx.get(api.url + "/v1/slowinit", timeout=30)
    assert response.status_code == 200, response.text
    assert 0 < int(response.text) <= 1000
    docs = xray.trace(trace_id_of(response), lambda d: bool(by_origin(d, "AWS::Lambda::Function")))
    function, = by_origin(docs, "AWS::Lambda::Function")
    init = find(function, "Initialization")
    assert init is not None and init["end_time"] - init["start_time"] >= 1.5


def test_lambda_error_is_502_and_a_fault(api: LocalApi, xray: TraceReader) -> None:
    response = httpx.post(api.url + "/v1/boom", timeout=30)
    assert response.status_code == 502 and response.json() == {"message": "Internal server error"}
    docs = xray.trace(trace_id_of(response), has("AWS::ApiGateway::Stage", "AWS::Lambda::Function"))
    stage, = by_origin(docs, "AWS::ApiGateway::Stage")
    assert stage["fault"] is True and stage["http"]["response"]["status"] == 502
    function, = by_origin(docs, "AWS::Lambda::Function")
    assert function["fault"] is True
    invocation = find(function, "Invocation")
    assert invocation is not None
    exception, = invocation["cause"]["exceptions"]
    assert (exception["type"], exception["message"]) == ("ValueError", "kaboom")
    assert "[ERROR] ValueError: kaboom" in "\n".join(api.workers["Handlers"].logs)


def test_malformed_response_is_502(api: LocalApi) -> None:
    response = httpx.get(api.url + "/v1/malformed", timeout=30)
    assert response.status_code == 502 and response.json() == {"message": "Internal server error"}
    assert "Malformed Lambda proxy response (body is dict, not a string)" in "\n".join(api.workers["Handlers"].logs)


def test_timeout_is_504_and_the_next_call_is_cold(api: LocalApi, xray: TraceReader) -> None:
    response = httpx.get(api.url + "/v1/slow", timeout=30)
    assert response.status_code == 504 and response.json() == {"message": "Endpoint request timed out"}
    docs = xray.trace(trace_id_of(response), has("AWS::ApiGateway::Stage", "AWS::Lambda::Function"))
    function, = by_origin(docs, "AWS::Lambda::Function")
    invocation = find(function, "Invocation")
    assert function["fault"] is True and invocation is not None
    assert invocation["cause"]["exceptions"][0]["type"] == "Sandbox.Timedout"
    stage, = by_origin(docs, "AWS::ApiGateway::Stage")
    assert stage["http"]["response"]["status"] == 504 and stage["subsegments"][0]["fault"] is True
    assert "Task timed out after 1.00 seconds" in "\n".join(api.workers["Handlers"].logs)

    after = httpx.get(api.url + "/v1/echo/3", timeout=30)
    assert after.status_code == 200
    docs = xray.trace(trace_id_of(after), lambda d: bool(by_origin(d, "AWS::Lambda::Function")))
    function, = by_origin(docs, "AWS::Lambda::Function")
    assert find(function, "Initialization") is not None


def test_second_api_without_tracing(api: LocalApi) -> None:
    for path in ("/admin/stats", "/stats"):
        response = httpx.get(api.url + path, timeout=30)
        assert response.status_code == 200
        # PassThrough with no sampled caller: the function gets an unsampled header.
        assert response.text.startswith("Root=1-") and response.text.endswith("Sampled=0")


def test_unknown_route_is_403(api: LocalApi) -> None:
    for method, path in (("GET", "/v1/nowhere"), ("GET", "/boom"), ("DELETE", "/admin/stats")):
        response = httpx.request(method, api.url + path, timeout=30)
        assert response.status_code == 403
        assert response.json() == {"message": "Missing Authentication Token"}


def test_cli_serves_and_reports(project: Path, xray: TraceReader) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "fluoro.cli", "local", "start-api", "--template", str(project / "template.yaml"),
         "--port", str(port), "--daemon-address", xray.daemon_address], stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        lines: list[str] = []
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Serving on"):
                break
        output = "".join(lines)
        assert "NOT EMULATED: Jobs (AWS::SQS::Queue)" in output, output
        response: Any = None
        for _ in range(100):
            try:
                response = httpx.get("http://127.0.0.1:%d/v1/echo/9" % port, timeout=30)
                break
            except httpx.ConnectError:
                time.sleep(0.1)
        assert response is not None and response.status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)


def test_cli_rejects_a_bad_template_by_name(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "template.yaml").write_text(
        "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
        "    Properties: {CodeUri: src/, Handler: app.handler, Runtime: python3.11}\n")
    result = subprocess.run([sys.executable, "-m", "fluoro.cli", "local", "start-api", "--template",
                             str(tmp_path / "template.yaml")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "Fn: handler module app.py not found" in result.stderr


def test_untraced_api_in_front_of_an_active_function(project: Path, xray: TraceReader) -> None:
    config = LocalApiConfig(template=str(project / "template.yaml"), port=0, daemon_address=xray.daemon_address,
                            api_tracing=False)
    with LocalApi(config).start_in_thread() as local:
        response = httpx.get(local.url + "/v1/echo/5", timeout=30)
        assert response.status_code == 200
        trace_id = trace_id_of(response)
        docs = xray.trace(trace_id, has("AWS::Lambda", "AWS::Lambda::Function"))
        # The trace starts at the Lambda service: no stage segment, no parent.
        assert not by_origin(docs, "AWS::ApiGateway::Stage")
        service, = by_origin(docs, "AWS::Lambda")
        assert "parent_id" not in service and service["trace_id"] == trace_id
        assert response.json()["trace"].startswith("Root=%s;Parent=" % trace_id)

        # A caller that decided not to sample: Lambda records nothing and hands Sampled=0 on.
        unsampled = "Root=1-%08x-00112233445566778899aabb;Sampled=0" % int(time.time())
        response = httpx.get(local.url + "/v1/echo/6", headers={"X-Amzn-Trace-Id": unsampled}, timeout=30)
        assert response.status_code == 200
        assert response.json()["trace"] == unsampled

"""The API Gateway front without processes: the proxy event (format 1.0), response
mapping and route matching with and without the stage prefix."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from fluoro.local.gateway import Gateway, MalformedResponse, map_response, proxy_event
from fluoro.local.invoker import FunctionPool, LambdaRuntimeSettings
from fluoro.local.template import LocalApiDef, load_template

API = LocalApiDef("Api", "my-stack", "dev", True, "abcdefghij")


def event(**overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = dict(
        request_method="POST", resource="/users/{id}", path="/users/42", stage="dev", api=API,
        headers=[("Host", "127.0.0.1:3000"), ("Content-Type", "application/json"), ("X-Multi", "a"), ("X-Multi", "b"),
                 ("User-Agent", "curl/8")],
        query=[("q", "1"), ("q", "2"), ("r", "x")], path_parameters={"id": "42"},
        body=b'{"name": "Test User"}', source_ip="127.0.0.1", request_id="11111111-2222-3333-4444-555555555555",
        now=1700000000.25)
    args.update(overrides)
    return proxy_event(**args)


def test_proxy_event_v1_shape() -> None:
    e = event()
    assert set(e) == {"resource", "path", "httpMethod", "headers", "multiValueHeaders", "queryStringParameters",
                      "multiValueQueryStringParameters", "pathParameters", "stageVariables", "requestContext",
                      "body", "isBase64Encoded"}
    assert (e["resource"], e["path"], e["httpMethod"]) == ("/users/{id}", "/users/42", "POST")
    assert e["headers"]["X-Multi"] == "b" and e["multiValueHeaders"]["X-Multi"] == ["a", "b"]
    assert e["queryStringParameters"] == {"q": "2", "r": "x"}
    assert e["multiValueQueryStringParameters"] == {"q": ["1", "2"], "r": ["x"]}
    assert e["pathParameters"] == {"id": "42"} and e["stageVariables"] is None
    assert e["body"] == '{"name": "Test User"}' and e["isBase64Encoded"] is False
    ctx = e["requestContext"]
    assert ctx["path"] == "/dev/users/42" and ctx["stage"] == "dev" and ctx["resourcePath"] == "/users/{id}"
    assert ctx["apiId"] == "abcdefghij" and ctx["accountId"] == "123456789012"
    assert ctx["requestTimeEpoch"] == 1700000000250 and ctx["requestTime"] == "14/Nov/2023:22:13:20 +0000"
    assert ctx["identity"]["sourceIp"] == "127.0.0.1" and ctx["identity"]["userAgent"] == "curl/8"
    assert ctx["requestId"] == "11111111-2222-3333-4444-555555555555"


def test_proxy_event_empty_parts_are_null_and_binary_is_base64() -> None:
    e = event(headers=[], query=[], path_parameters={}, body=b"")
    assert e["headers"] is None and e["multiValueHeaders"] is None
    assert e["queryStringParameters"] is None and e["pathParameters"] is None and e["body"] is None
    e = event(body=b"\xff\xfe\x00")
    assert e["isBase64Encoded"] is True and base64.b64decode(e["body"]) == b"\xff\xfe\x00"


def test_response_mapping() -> None:
    status, headers, body = map_response({"statusCode": 201, "headers": {"X-A": "1", "X-N": 5},
                                          "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]}, "body": "made"})
    assert status == 201 and body == b"made"
    assert headers == [("X-A", "1"), ("X-N", "5"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]
    assert map_response({"statusCode": 200, "body": base64.b64encode(b"\x00\x01").decode(),
                         "isBase64Encoded": True})[2] == b"\x00\x01"
    assert map_response({}) == (200, [], b"")
    assert map_response({"statusCode": "404"})[0] == 404


@pytest.mark.parametrize("payload", [
    None, "text", ["list"], {"statusCode": 200, "body": {"not": "a string"}}, {"statusCode": 200, "extra": 1},
    {"statusCode": "ok"}, {"statusCode": 99}, {"statusCode": True}, {"headers": {"X": ["list"]}},
    {"multiValueHeaders": {"X": "not a list"}}, {"body": "!!", "isBase64Encoded": True},
])
def test_malformed_responses(payload: Any) -> None:
    with pytest.raises(MalformedResponse):
        map_response(payload)


def test_routes_answer_with_and_without_stage(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def handler(event, context):\n    return {}\n")
    (tmp_path / "t.yaml").write_text("""
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties: {StageName: v1}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.11
      Events:
        One: {Type: Api, Properties: {Path: "/items/{id}", Method: get, RestApiId: !Ref Api}}
        Proxy: {Type: Api, Properties: {Path: "/files/{path+}", Method: any, RestApiId: !Ref Api}}
        Root: {Type: Api, Properties: {Path: /, Method: get, RestApiId: !Ref Api}}
""")
    template = load_template(tmp_path / "t.yaml")
    settings = LambdaRuntimeSettings(region="us-east-1", endpoint_url=None, daemon_address="127.0.0.1:2000")
    gateway = Gateway(template, {"Fn": FunctionPool(template.functions["Fn"], settings, None)}, None)

    def match(method: str, path: str) -> Any:
        found = gateway.match(method, path)
        return found and (found[0].resource, found[1], found[2], found[3])

    assert match("GET", "/v1/items/7") == ("/items/{id}", "v1", "/items/7", {"id": "7"})
    assert match("GET", "/items/7") == ("/items/{id}", "v1", "/items/7", {"id": "7"})
    assert match("DELETE", "/v1/files/a/b.txt") == ("/files/{path+}", "v1", "/files/a/b.txt", {"path": "a/b.txt"})
    assert match("GET", "/v1") == ("/", "v1", "/", {})
    assert match("GET", "/") == ("/", "v1", "/", {})
    assert match("POST", "/items/7") is None
    assert match("GET", "/items") is None

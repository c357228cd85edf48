"""The API Gateway front: REST API routes from the template's ``Api`` events, the Lambda
proxy integration (event format 1.0, response mapping, 502/504 as API Gateway answers)
and the stage's X-Ray segment.

Each route answers both at ``/<stage>/<path>`` (the deployed URL) and at ``/<path>``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fluoro.local.invoker import FunctionPool, InvokeResult
from fluoro.local.segments import (
    SegmentSender,
    TraceHeader,
    lambda_invoke_subsegment,
    new_id,
    new_trace_id,
    stage_segment,
)
from fluoro.local.template import ACCOUNT_ID, LocalApiDef, Template

_RESPONSE_KEYS = {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded", "cookies"}


class MalformedResponse(ValueError):
    """The Lambda's answer is not a valid proxy integration response."""


@dataclass
class RouteEntry:
    api: LocalApiDef
    resource: str
    method: str
    pattern: re.Pattern[str]
    worker: FunctionPool


def _path_pattern(resource: str) -> re.Pattern[str]:
    parts = []
    for piece in resource.strip("/").split("/"):
        match = re.fullmatch(r"\{([A-Za-z0-9_.-]+)(\+?)\}", piece)
        if match:
            name = match.group(1).replace(".", "_dot_").replace("-", "_dash_")
            parts.append("(?P<%s>%s)" % (name, ".+" if match.group(2) else "[^/]+"))
        else:
            parts.append(re.escape(piece))
    return re.compile("^/" + "/".join(parts) + "/?$" if parts != [""] else "^/?$")


def _param_name(group: str) -> str:
    return group.replace("_dot_", ".").replace("_dash_", "-")


def proxy_event(*, request_method: str, resource: str, path: str, stage: str, api: LocalApiDef,
                headers: list[tuple[str, str]], query: list[tuple[str, str]], path_parameters: dict[str, str],
                body: bytes, source_ip: str, request_id: str, now: float) -> dict[str, Any]:
    """API Gateway's Lambda proxy integration event, payload format version 1.0."""
    single_headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        single_headers[name] = value
        multi_headers.setdefault(name, []).append(value)
    single_query: dict[str, str] = {}
    multi_query: dict[str, list[str]] = {}
    for name, value in query:
        single_query[name] = value
        multi_query.setdefault(name, []).append(value)
    text: str | None
    encoded = False
    if not body:
        text = None
    else:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text, encoded = base64.b64encode(body).decode(), True
    lower = {k.lower(): v for k, v in single_headers.items()}
    return {
        "resource": resource,
        "path": path,
        "httpMethod": request_method,
        "headers": single_headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": single_query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": uuid.uuid5(uuid.NAMESPACE_URL, api.rest_api_id + resource).hex[:6],
            "resourcePath": resource,
            "httpMethod": request_method,
            "extendedRequestId": request_id[:16],
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "path": "/%s%s" % (stage, path),
            "accountId": ACCOUNT_ID,
            "protocol": "HTTP/1.1",
            "stage": stage,
            "domainPrefix": api.rest_api_id,
            "requestTimeEpoch": int(now * 1000),
            "requestId": request_id,
            "identity": {"cognitoIdentityPoolId": None, "accountId": None, "cognitoIdentityId": None, "caller": None,
                         "sourceIp": source_ip, "principalOrgId": None, "accessKey": None,
                         "cognitoAuthenticationType": None, "cognitoAuthenticationProvider": None, "userArn": None,
                         "userAgent": lower.get("user-agent"), "user": None},
            "domainName": lower.get("host", "%s.execute-api.us-east-1.amazonaws.com" % api.rest_api_id),
            "apiId": api.rest_api_id,
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


def map_response(payload: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """The proxy integration's response → HTTP; ``MalformedResponse`` where API Gateway gives 502."""
    if not isinstance(payload, dict):
        raise MalformedResponse("response is %s, not an object" % type(payload).__name__)
    extra = set(payload) - _RESPONSE_KEYS
    if extra:
        raise MalformedResponse("unexpected field(s) %s" % ", ".join(sorted(extra)))
    status = payload.get("statusCode", 200)
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise MalformedResponse("statusCode %r is not an HTTP status" % (status,))
    headers: list[tuple[str, str]] = []
    for name, value in (payload.get("headers") or {}).items():
        if isinstance(value, (dict, list)):
            raise MalformedResponse("header %s is not a string" % name)
        headers.append((str(name), "" if value is None else str(value)))
    multi = payload.get("multiValueHeaders") or {}
    if not isinstance(multi, dict):
        raise MalformedResponse("multiValueHeaders is not an object")
    for name, values in multi.items():
        if not isinstance(values, list):
            raise MalformedResponse("multiValueHeaders.%s is not a list" % name)
        headers = [h for h in headers if h[0].lower() != str(name).lower()]
        headers.extend((str(name), str(v)) for v in values)
    body = payload.get("body")
    if body is None:
        data = b""
    elif isinstance(body, str):
        if payload.get("isBase64Encoded"):
            try:
                data = base64.b64decode(body, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise MalformedResponse("body is not valid base64") from exc
        else:
            data = body.encode("utf-8")
    else:
        raise MalformedResponse("body is %s, not a string" % type(body).__name__)
    return status, headers, data


def _json(status: int, message: str) -> tuple[int, list[tuple[str, str]], bytes]:
    return status, [("Content-Type", "application/json")], json.dumps({"message": message}).encode()


class Gateway:
    """Routes requests to function workers and records the stage segments."""

    def __init__(self, template: Template, workers: dict[str, FunctionPool], sender: SegmentSender | None,
                 api_tracing: bool | None = None) -> None:
        self.template = template
        self.sender = sender
        self.api_tracing = api_tracing
        self.routes: list[RouteEntry] = []
        for function in template.functions.values():
            for route in function.routes:
                self.routes.append(RouteEntry(template.apis[route.api_id], route.path, route.method,
                                              _path_pattern(route.path), workers[function.logical_id]))
        self.app = Starlette(routes=[Route("/{path:path}", self.handle, methods=[
            "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])])

    def tracing(self, api: LocalApiDef) -> bool:
        return api.tracing if self.api_tracing is None else self.api_tracing

    def match(self, method: str, path: str) -> tuple[RouteEntry, str, str, dict[str, str]] | None:
        """(route, stage, path without stage, path parameters); stage-prefixed paths win."""
        for prefixed in (True, False):
            for route in self.routes:
                stage = route.api.stage
                if prefixed:
                    if not (path == "/" + stage or path.startswith("/%s/" % stage)):
                        continue
                    rest = path[len(stage) + 1:] or "/"
                else:
                    rest = path
                if route.method not in ("ANY", method):
                    continue
                found = route.pattern.match(rest)
                if found:
                    return route, stage, rest, {_param_name(k): v for k, v in found.groupdict().items()}
        return None

    async def handle(self, request: Request) -> Response:
        started = time.time()
        request_id = str(uuid.uuid4())
        path = request.url.path
        matched = self.match(request.method, path)
        if matched is None:
            status, headers, data = _json(403, "Missing Authentication Token")
            return Response(data, status, headers=dict(headers) | {"x-amzn-RequestId": request_id,
                                                                   "x-amzn-ErrorType": "MissingAuthenticationTokenException"})
        route, stage, rest, params = matched
        body = await request.body()
        client_ip = request.client.host if request.client else "127.0.0.1"
        event = proxy_event(request_method=request.method, resource=route.resource, path=rest, stage=stage,
                            api=route.api, headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw],
                            query=list(request.query_params.multi_items()), path_parameters=params, body=body,
                            source_ip=client_ip, request_id=request_id, now=started)
        upstream = TraceHeader.parse(request.headers.get("x-amzn-trace-id"))
        traced = self.tracing(route.api) and upstream.sampled != "0"
        trace_id = segment_id = subsegment_id = None
        lambda_header: TraceHeader | None = upstream if upstream.root else None
        if traced:
            trace_id = upstream.root or new_trace_id(started)
            segment_id, subsegment_id = new_id(), new_id()
            lambda_header = TraceHeader(trace_id, subsegment_id, "1")
        invoke_start = time.time()
        result: InvokeResult = await anyio.to_thread.run_sync(route.worker.invoke, event, lambda_header)
        invoke_end = time.time()
        lambda_status: int | None = 200
        if result.timed_out:
            status, headers, data = _json(504, "Endpoint request timed out")
            lambda_status = None
        elif result.error is not None:
            status, headers, data = _json(502, "Internal server error")
        else:
            try:
                status, headers, data = map_response(result.payload)
            except MalformedResponse as exc:
                route.worker.logs.append("%s Execution failed due to configuration error: Malformed Lambda proxy "
                                         "response (%s)" % (request_id, exc))
                status, headers, data = _json(502, "Internal server error")
        headers = headers + [("x-amzn-RequestId", request_id)]
        trace_id = trace_id or (lambda_header.root if lambda_header else None) or \
            TraceHeader.parse(result.trace_header).root
        if trace_id:
            headers.append(("X-Amzn-Trace-Id", "Root=%s" % trace_id))
        ended = time.time()
        if traced and self.sender is not None:
            assert trace_id and segment_id and subsegment_id
            api = route.api
            sub = lambda_invoke_subsegment(
                subsegment_id=subsegment_id, function_name=route.worker.function.name, function_arn=route.worker.arn,
                region=self.template.region, method="POST", start=invoke_start, end=invoke_end,
                status=status if lambda_status is not None else None, content_length=len(data))
            self.sender.send(stage_segment(
                trace_id=trace_id, segment_id=segment_id, parent_id=upstream.parent if upstream.root else None,
                api_name=api.name, stage=stage, rest_api_id=api.rest_api_id, region=self.template.region,
                account_id=ACCOUNT_ID, request_id=request_id, method=request.method,
                url="https://%s.execute-api.%s.amazonaws.com/%s%s" % (api.rest_api_id, self.template.region, stage, rest),
                user_agent=request.headers.get("user-agent"), client_ip=client_ip, start=started, end=ended,
                status=status, content_length=len(data), lambda_subsegment=sub))
        response = Response(data, status)
        for name, value in headers:
            if name.lower() == "content-length":
                continue
            response.headers.append(name, value)
        return response

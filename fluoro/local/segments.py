"""The segments API Gateway and the Lambda service record, shaped like real traces
(shared fixtures ``osp7-apigw-lambda-*``): names, origins, ``resource_arn``, ``aws``
fields and the parent chain stage → ``Lambda`` subsegment → ``AWS::Lambda`` →
``AWS::Lambda::Function`` → ``Invocation`` (the parent the function's SDK sees)."""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass
from typing import Any

HEADER = b'{"format":"json","version":1}\n'


def new_id() -> str:
    return os.urandom(8).hex()


def new_trace_id(now: float | None = None) -> str:
    return "1-%08x-%s" % (int(now or time.time()), os.urandom(12).hex())


@dataclass
class TraceHeader:
    root: str | None = None
    parent: str | None = None
    sampled: str | None = None  # "1", "0", "?" or None

    @classmethod
    def parse(cls, value: str | None) -> TraceHeader:
        header = cls()
        for part in (value or "").split(";"):
            key, _, val = part.strip().partition("=")
            if key == "Root":
                header.root = val
            elif key == "Parent":
                header.parent = val
            elif key == "Sampled":
                header.sampled = val
        return header

    def to_header(self) -> str:
        parts = ["Root=%s" % self.root]
        if self.parent:
            parts.append("Parent=%s" % self.parent)
        if self.sampled is not None:
            parts.append("Sampled=%s" % self.sampled)
        return ";".join(parts)


class SegmentSender:
    """Sends documents to the X-Ray daemon address over UDP, as the AWS services'
    own tracing does (one datagram per document)."""

    def __init__(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        self.address = (host or "127.0.0.1", int(port))
        self._sock = socket.socket(socket.AF_INET6 if ":" in self.address[0] else socket.AF_INET, socket.SOCK_DGRAM)

    def send(self, document: dict[str, Any]) -> None:
        try:
            self._sock.sendto(HEADER + json.dumps(document, separators=(",", ":")).encode(), self.address)
        except OSError:
            pass  # tracing never fails a request, as on AWS

    def close(self) -> None:
        self._sock.close()


def _error_flags(status: int) -> dict[str, Any]:
    if status == 429:
        return {"throttle": True, "error": True}
    if 400 <= status < 500:
        return {"error": True}
    if status >= 500:
        return {"fault": True}
    return {}


def stage_segment(*, trace_id: str, segment_id: str, parent_id: str | None, api_name: str, stage: str,
                  rest_api_id: str, region: str, account_id: str, request_id: str, method: str, url: str,
                  user_agent: str | None, client_ip: str, start: float, end: float, status: int,
                  content_length: int, lambda_subsegment: dict[str, Any] | None) -> dict[str, Any]:
    """The ``AWS::ApiGateway::Stage`` segment with its ``Lambda`` integration subsegment."""
    request: dict[str, Any] = {"url": url, "method": method}
    if user_agent:
        request["user_agent"] = user_agent
    request.update({"client_ip": client_ip, "x_forwarded_for": True})
    doc: dict[str, Any] = {
        "id": segment_id, "name": "%s/%s" % (api_name, stage), "start_time": start, "trace_id": trace_id,
        "end_time": end,
        "http": {"request": request, "response": {"status": status, "content_length": content_length}},
        "aws": {"api_gateway": {"account_id": account_id, "rest_api_id": rest_api_id, "stage": stage,
                                "request_id": request_id}},
        "annotations": {"aws:api_id": rest_api_id, "aws:api_stage": stage},
        "metadata": {"default": {"extended_request_id": request_id[:16], "request_id": request_id}},
        "origin": "AWS::ApiGateway::Stage",
        "resource_arn": "arn:aws:apigateway:%s::/restapis/%s/stages/%s" % (region, rest_api_id, stage),
    }
    if parent_id:
        doc["parent_id"] = parent_id
    doc.update(_error_flags(status))
    if lambda_subsegment:
        doc["subsegments"] = [lambda_subsegment]
    return doc


def lambda_invoke_subsegment(*, subsegment_id: str, function_name: str, function_arn: str, region: str,
                             method: str, start: float, end: float, status: int | None,
                             content_length: int) -> dict[str, Any]:
    """API Gateway's ``Lambda`` Invoke subsegment (namespace ``aws``)."""
    sub: dict[str, Any] = {
        "id": subsegment_id, "name": "Lambda", "start_time": start, "end_time": end,
        "http": {"request": {"url": "https://lambda.%s.amazonaws.com/2015-03-31/functions/%s/invocations"
                                    % (region, function_arn), "method": method}},
        "aws": {"function_name": function_name, "region": region, "operation": "Invoke",
                "resource_names": [function_name]},
        "namespace": "aws",
    }
    if status is not None:
        sub["http"]["response"] = {"status": status, "content_length": content_length}
        sub.update(_error_flags(status))
    else:  # timed out: no response
        sub["fault"] = True
    return sub


@dataclass
class InvocationTiming:
    """What one invocation took, as the Lambda service sees it."""

    received: float  # the Lambda service got the Invoke
    init_start: float | None  # cold start only
    init_end: float | None
    invoke_start: float
    invoke_end: float
    done: float  # the service answered the caller
    error: dict[str, Any] | None = None  # the function's error shape, if it raised
    timed_out: bool = False


def lambda_segments(*, trace_id: str, parent_id: str | None, service_id: str, function_id: str,
                    invocation_id: str, function_name: str, function_arn: str, account_id: str,
                    request_id: str, timing: InvocationTiming) -> list[dict[str, Any]]:
    """The ``AWS::Lambda`` service segment and the ``AWS::Lambda::Function`` segment with
    ``Initialization`` (cold start), ``Invocation`` and ``Overhead`` subsegments."""
    service: dict[str, Any] = {
        "id": service_id, "name": function_name, "start_time": timing.received, "trace_id": trace_id,
        "end_time": timing.done, "http": {"response": {"status": 200}},
        "aws": {"request_id": request_id}, "origin": "AWS::Lambda", "resource_arn": function_arn,
    }
    if parent_id:
        service["parent_id"] = parent_id
    arn = {"function_arn": function_arn}
    invocation: dict[str, Any] = {"id": invocation_id, "name": "Invocation", "start_time": timing.invoke_start,
                                  "end_time": timing.invoke_end, "aws": dict(arn)}
    subsegments: list[dict[str, Any]] = [invocation]
    if timing.init_start is not None and timing.init_end is not None:
        subsegments.append({"id": new_id(), "name": "Initialization", "start_time": timing.init_start,
                            "end_time": timing.init_end, "aws": dict(arn)})
    if not timing.timed_out:
        subsegments.append({"id": new_id(), "name": "Overhead", "start_time": timing.invoke_end,
                            "end_time": max(timing.invoke_end, timing.done - 0.0001), "aws": dict(arn)})
    function: dict[str, Any] = {
        "id": function_id, "name": function_name,
        "start_time": timing.init_start if timing.init_start is not None else timing.invoke_start,
        "trace_id": trace_id, "end_time": timing.done - 0.00005, "parent_id": service_id,
        "aws": {"account_id": account_id, "function_arn": function_arn, "resource_names": [function_name]},
        "origin": "AWS::Lambda::Function", "subsegments": subsegments,
    }
    if timing.error is not None or timing.timed_out:
        function["fault"] = True
        invocation["fault"] = True
        message = "Task timed out after %.2f seconds" % (timing.invoke_end - timing.invoke_start) \
            if timing.timed_out else str(timing.error.get("errorMessage", "")) if timing.error else ""
        kind = "Sandbox.Timedout" if timing.timed_out else str((timing.error or {}).get("errorType", "Error"))
        invocation["cause"] = {"working_directory": "/var/task", "paths": [],
                               "exceptions": [{"id": new_id(), "message": message, "type": kind}]}
    return [service, function]

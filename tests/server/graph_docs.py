"""Graph scenario documents shared by the query and API tests."""

from __future__ import annotations

import json
import random
from typing import Any

from .helpers import load_fixture


def _id(rng: random.Random) -> str:
    return f"{rng.getrandbits(64):016x}"


def fixture_traces(name: str) -> list[tuple[str, list[dict[str, Any]]]]:
    """(trace id, documents as an SDK sent them: X-Ray's inferred segments removed)."""
    data = load_fixture("batch-get-traces", name)
    traces = data["Traces"] if isinstance(data, dict) and "Traces" in data else [data]
    out = []
    for trace in traces:
        docs = []
        for entry in trace["Segments"]:
            doc = entry.get("Document", entry)
            doc = json.loads(doc) if isinstance(doc, str) else doc
            if not doc.get("inferred"):
                docs.append(doc)
        out.append((trace["Id"], docs))
    return out


def lambda_trace(rng: random.Random, start: float, outcome: int) -> list[dict[str, Any]]:
    """API Gateway → Lambda → function (streamed subsegments) → DynamoDB / S3, as separate documents."""
    tid = f"1-{int(start):08x}-{rng.getrandbits(96):024x}"
    invoke, lam, fn, invocation = _id(rng), _id(rng), _id(rng), _id(rng)
    stage = {"id": _id(rng), "trace_id": tid, "name": "shop/prod", "origin": "AWS::ApiGateway::Stage",
             "start_time": start, "end_time": start + 0.3, "http": {"response": {"status": outcome}},
             "subsegments": [{"id": invoke, "name": "Lambda", "namespace": "aws", "start_time": start + 0.001,
                              "end_time": start + 0.29, "aws": {"function_name": "orders", "operation": "Invoke"},
                              "http": {"response": {"status": outcome}}}]}  # fmt: skip
    lambda_seg = {
        "id": lam,
        "trace_id": tid,
        "name": "orders",
        "origin": "AWS::Lambda",
        "parent_id": invoke,
        "start_time": start + 0.002,
        "end_time": start + 0.28,
        "http": {"response": {"status": 200}},
    }
    function = {"id": fn, "trace_id": tid, "name": "orders", "origin": "AWS::Lambda::Function", "parent_id": lam,
                "start_time": start + 0.01, "end_time": start + 0.27, "fault": outcome >= 500,
                "error": 400 <= outcome < 500, "throttle": outcome == 429}  # fmt: skip
    inv = {
        "id": invocation,
        "trace_id": tid,
        "type": "subsegment",
        "parent_id": fn,
        "name": "Invocation",
        "start_time": start + 0.011,
        "end_time": start + 0.26,
    }
    ddb = {"id": _id(rng), "trace_id": tid, "type": "subsegment", "parent_id": invocation, "name": "DynamoDB",
           "namespace": "aws", "start_time": start + 0.02, "end_time": start + 0.02 + rng.random() * 0.1,
           "aws": {"table_name": "orders", "operation": "PutItem"},
           "http": {"response": {"status": rng.choice([200, 200, 400])}}}  # fmt: skip
    s3 = {
        "id": _id(rng),
        "trace_id": tid,
        "type": "subsegment",
        "parent_id": invocation,
        "name": "S3",
        "namespace": "aws",
        "start_time": start + 0.13,
        "end_time": start + 0.13 + rng.random() * 0.1,
        "aws": {"bucket_name": "receipts", "operation": "PutObject"},
        "http": {"response": {"status": 200}},
    }
    progress = {**function, "in_progress": True}
    progress.pop("end_time")
    return [progress, stage, lambda_seg, function, inv, ddb, s3]

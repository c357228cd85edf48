"""Real clients: the AWS CLI, and the aws-xray-sdk emitting over UDP to the same port number."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from fluoro.server import FluoroServer

from .helpers import wait_for
from .helpers_docs import segment

AWS = str(Path(sys.executable).with_name("aws"))


def aws(port: int, *args: str) -> Any:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_PAGER": ""}  # fmt: skip
    out = subprocess.run(
        [AWS, "xray", *args, "--endpoint-url", f"http://127.0.0.1:{port}", "--output", "json"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return out


def test_aws_cli_put_and_read(server: FluoroServer) -> None:
    doc = segment(annotations={"cli": "yes"})
    put = aws(server.port, "put-trace-segments", "--trace-segment-documents", json.dumps(doc))
    assert put.returncode == 0, put.stderr
    assert json.loads(put.stdout)["UnprocessedTraceSegments"] == []
    now = time.time()
    out = aws(server.port, "get-trace-summaries", "--start-time", str(int(now - 120)), "--end-time",
              str(int(now + 60)), "--filter-expression", 'annotation.cli = "yes"')  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert [s["Id"] for s in json.loads(out.stdout)["TraceSummaries"]] == [doc["trace_id"]]
    got = aws(server.port, "batch-get-traces", "--trace-ids", doc["trace_id"])
    assert json.loads(got.stdout)["Traces"][0]["Segments"][0]["Id"] == doc["id"]


def test_aws_cli_shows_service_errors(server: FluoroServer) -> None:
    out = aws(server.port, "get-trace-segment-destination")
    assert out.returncode != 0 and "NotImplementedException" in out.stderr
    assert "GetTraceSegmentDestination" in out.stderr
    out = aws(server.port, "get-service-graph", "--start-time", "10", "--end-time", "1")
    assert out.returncode != 0 and "InvalidRequestException" in out.stderr and "EndTime" in out.stderr
    out = aws(server.port, "batch-get-traces", "--trace-ids", *[f"1-00000000-{i:024x}" for i in range(6)])
    assert "InvalidRequestException" in out.stderr and "Exceeding maximum query size: 5" in out.stderr


def test_aws_xray_sdk_over_udp(server: FluoroServer, xray: Any) -> None:
    from aws_xray_sdk.core.recorder import AWSXRayRecorder

    recorder = AWSXRayRecorder()
    recorder.configure(daemon_address=f"127.0.0.1:{server.port}", sampling=False, context_missing="LOG_ERROR",
                       plugins=(), service="sdk-app")  # fmt: skip
    seg = recorder.begin_segment("sdk-app")
    seg.put_annotation("flavour", "udp")
    seg.put_http_meta("url", "http://localhost/checkout")
    seg.put_http_meta("status", 200)
    sub = recorder.begin_subsegment("db", namespace="remote")
    sub.put_http_meta("url", "http://db.internal/q")
    recorder.end_subsegment()
    recorder.end_segment()
    trace_id = seg.trace_id

    def fetch() -> list[Any]:
        return xray.batch_get_traces(TraceIds=[trace_id])["Traces"]

    traces = wait_for(fetch)
    assert traces, "segment from aws-xray-sdk never arrived"
    docs = [json.loads(s["Document"]) for s in traces[0]["Segments"]]
    (root,) = [d for d in docs if d["id"] == seg.id]
    assert root["annotations"] == {"flavour": "udp"} and root["subsegments"][0]["name"] == "db"
    assert any(d.get("inferred") and d["parent_id"] == sub.id for d in docs)
    start = int(trace_id[2:10], 16)
    summaries = xray.get_trace_summaries(StartTime=start - 1, EndTime=start + 2, FilterExpression='annotation.flavour = "udp"')
    assert [s["Id"] for s in summaries["TraceSummaries"]] == [trace_id]
    assert summaries["TraceSummaries"][0]["Http"]["HttpURL"] == "http://localhost/checkout"

"""Every failure answers in the form botocore parses; client mistakes are never 5xx."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from fluoro.api.operations import OPERATIONS
from fluoro.server import FluoroServer


def test_unimplemented_operation_names_itself(xray: Any) -> None:
    with pytest.raises(ClientError) as exc:
        xray.get_trace_segment_destination()
    error = exc.value.response["Error"]
    assert error["Code"] == "NotImplementedException" and "GetTraceSegmentDestination" in error["Message"]


@pytest.mark.parametrize("path", sorted(OPERATIONS))
def test_every_operation_path_answers_json(server: FluoroServer, path: str) -> None:
    r = httpx.post(f"http://127.0.0.1:{server.port}{path}", content=b"{}")
    assert r.status_code < 500 or r.status_code == 501
    assert r.headers["content-type"].startswith("application/")
    if r.status_code >= 400:
        assert r.headers["x-amzn-errortype"] and json.loads(r.text)["message"]


def test_unknown_path_is_json_not_html(server: FluoroServer) -> None:
    r = httpx.get(f"http://127.0.0.1:{server.port}/nope")
    assert r.status_code == 404 and r.headers["x-amzn-errortype"] == "UnknownOperationException"
    assert "nope" in r.json()["message"]


@pytest.mark.parametrize(
    "body, message",
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"TraceSegmentDocuments": "x"}', "TraceSegmentDocuments"),
        (b'{"TraceSegmentDocuments": [1]}', None),
        (b"[" * 100_000, "not valid JSON"),
    ],
)
def test_malformed_requests_are_400(server: FluoroServer, body: bytes, message: str | None) -> None:
    r = httpx.post(f"http://127.0.0.1:{server.port}/TraceSegments", content=body)
    if message is None:
        assert r.status_code == 200 and r.json()["UnprocessedTraceSegments"][0]["ErrorCode"] == "InvalidSegment"
        return
    assert r.status_code == 400 and r.headers["x-amzn-errortype"] == "InvalidRequestException"
    assert message in r.json()["message"]


def test_body_size_limit(server: FluoroServer) -> None:
    r = httpx.post(f"http://127.0.0.1:{server.port}/TraceSegments", content=b" " * (17 * 1024 * 1024))
    assert r.status_code == 413 and r.headers["x-amzn-errortype"] == "RequestEntityTooLargeException"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"StartTime": 10, "EndTime": 5},
        {"StartTime": 0, "EndTime": 5, "TimeRangeType": "Nope"},
        {"StartTime": 0, "EndTime": 5, "NextToken": "garbage!"},
        {"StartTime": 0, "EndTime": 5, "Sampling": True, "SamplingStrategy": {"Name": "PartialScan", "Value": 2}},
    ],
)
def test_summary_request_mistakes(server: FluoroServer, kwargs: dict[str, Any]) -> None:
    r = httpx.post(f"http://127.0.0.1:{server.port}/TraceSummaries", json=kwargs)
    assert r.status_code == 400 and r.headers["x-amzn-errortype"] == "InvalidRequestException"


def test_missing_times_are_400(server: FluoroServer) -> None:
    r = httpx.post(f"http://127.0.0.1:{server.port}/TraceSummaries", content=b"")
    assert r.status_code == 400 and "StartTime is required" in r.json()["message"]

"""Segment-document rules against the published documents, and the daemon's framing."""

from __future__ import annotations

import json

import pytest

from fluoro.ingest import Reject, ingest, split_datagram
from fluoro.store.api import SegmentBatch

from ..helpers import FIXTURES
from ..helpers_docs import segment

# Published documents that X-Ray rejects, with the reason; every other one is accepted.
REJECTED = {
    "devguide-segment-with-annotations.json": "InvalidTraceId",  # the published trace id has an 's' in it
    "otel-invalid-missing-start-time.json": "MissingStartTime",
    "otel-invalid-no-end-time-no-in-progress.json": "MissingEndTime",
    "otel-invalid-cause-number.json": "InvalidCause",
    # Embedded-subsegment examples, not documents one can send alone:
    "devguide-custom-subsegment-metadata-dynamodb.json": "MissingTraceId",
    "devguide-dynamodb-subsegment.json": "MissingTraceId",
    "devguide-http-call-subsegment.json": "MissingTraceId",
    "devguide-sql-subsegment.json": "MissingTraceId",
    # Not segment documents at all:
    "devguide-daemon-udp-header.json": "MissingId",
    "devguide-put-trace-segments-response-invalid-trace-id.json": "MissingId",
}
FILES = sorted(p.name for p in (FIXTURES / "segments").glob("*.json"))


@pytest.mark.parametrize("name", FILES)
def test_published_documents(name: str) -> None:
    batch = SegmentBatch()
    body = (FIXTURES / "segments" / name).read_bytes()
    if name in REJECTED:
        with pytest.raises(Reject) as exc:
            ingest(batch, body, 1.0)
        assert exc.value.code == REJECTED[name]
    else:
        assert ingest(batch, body, 1.0) == json.loads(body)["id"]
        assert batch.doc == [body]


def test_reject_reports_the_id_when_readable() -> None:
    doc = segment(trace_id="1-zzzz")
    with pytest.raises(Reject) as exc:
        ingest(SegmentBatch(), json.dumps(doc).encode(), 1.0)
    assert (exc.value.code, exc.value.segment_id) == ("InvalidTraceId", doc["id"])
    assert exc.value.message.startswith("Invalid segment. ErrorCode: InvalidTraceId")


@pytest.mark.parametrize(
    "change, code",
    [
        ({"id": "ABCDEF0123456789"}, "InvalidId"),
        ({"start_time": -1}, "InvalidStartTime"),
        ({"start_time": True}, "InvalidStartTime"),
        ({"end_time": 1.0}, "InvalidEndTime"),
        ({"in_progress": "yes"}, "InvalidInProgress"),
        ({"name": ""}, "MissingName"),
        ({"name": "n" * 251}, "InvalidName"),
        ({"type": "segment"}, "InvalidType"),
        ({"type": "subsegment"}, "MissingParentId"),
        ({"parent_id": "xyz"}, "InvalidParentId"),
        ({"subsegments": [{"id": "0123456789abcdef", "name": "s", "start_time": 5.0}]}, "MissingEndTime"),
        ({"subsegments": [7]}, "InvalidSegment"),
    ],
)
def test_rule_violations(change: dict, code: str) -> None:  # type: ignore[type-arg]
    doc = {**segment(), **change}
    with pytest.raises(Reject) as exc:
        ingest(SegmentBatch(), json.dumps(doc).encode(), 1.0)
    assert exc.value.code == code


def test_python_sdk_shapes_are_accepted() -> None:
    """in_progress:false with end_time, and type/trace_id on embedded subsegments (reference §0.8)."""
    doc = segment(in_progress=False)
    doc["subsegments"] = [{"id": "0123456789abcdef", "name": "s", "start_time": doc["start_time"],
                           "end_time": doc["end_time"], "in_progress": False, "type": "subsegment",
                           "trace_id": doc["trace_id"], "namespace": "local"}]  # fmt: skip
    assert ingest(SegmentBatch(), json.dumps(doc).encode(), 1.0) == doc["id"]


@pytest.mark.parametrize(
    "datagram, ok",
    [
        (b'{"format":"json","version":1}\n{}', True),
        (b'{"format": "json", "version": 1}\n{}', True),
        (b'{"format":"JSON","version":1,"extra":2}\n{}', True),
        (b'{"format":"json","version":2}\n{}', False),
        (b'{"format":"json","version":1}', False),
        (b'{"format":"json","version":1}\n   ', False),
        (b"garbage\n{}", False),
    ],
)
def test_daemon_header(datagram: bytes, ok: bool) -> None:
    if ok:
        assert split_datagram(datagram) == b"{}"
    else:
        with pytest.raises(Reject):
            split_datagram(datagram)

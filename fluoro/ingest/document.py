"""Segment-document validation and extraction into store columns.

msgspec decodes only the fields fluoro indexes (metadata and other large
payloads are skipped in C), then the rules of the X-Ray segment-document
schema are checked in Python.  Invalid nested data that X-Ray would strip is
not indexed but kept in the stored document.
"""

from __future__ import annotations

import re
import sys
from typing import Any, Optional

import msgspec

from fluoro.ingest.errors import Reject
from fluoro.store.api import SegmentBatch, trace_key

MAX_DOCUMENT = 64 * 1024
MAX_DEPTH = 32
MAX_ANNOTATIONS = 50
_HEX16 = re.compile(r"[0-9a-f]{16}\Z")
_TRACE_ID = re.compile(r"1-[0-9a-f]{8}-[0-9a-f]{24}\Z")
# Larger numbers cannot be stored as float64 (an int beyond it would overflow float()).
MAX_NUMBER = sys.float_info.max


class Entity(msgspec.Struct):
    """The indexed part of a segment or subsegment; unknown keys are skipped."""

    id: Any = None
    name: Any = None
    trace_id: Any = None
    parent_id: Any = None
    type: Any = None
    start_time: Any = None
    end_time: Any = None
    in_progress: Any = None
    origin: Any = None
    user: Any = None
    fault: Any = None
    error: Any = None
    throttle: Any = None
    cause: Any = None
    http: Any = None
    annotations: Any = None
    subsegments: Optional[list[Entity]] = None  # noqa: UP045 - msgspec evaluates this at runtime (3.9)


_decoder = msgspec.json.Decoder(Entity)


def decode(body: bytes) -> Entity:
    """Decode one document; malformed JSON or shapes raise ``Reject``."""
    if len(body) > MAX_DOCUMENT:
        raise Reject("DocumentTooLarge", f"document is {len(body)} bytes, the limit is {MAX_DOCUMENT}")
    try:
        return _decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise Reject("InvalidSegment", str(exc)) from None
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError) as exc:
        raise Reject("JSONFormatError", str(exc) or "invalid JSON") from None


def _is_time(value: Any) -> bool:
    return (type(value) is float or type(value) is int) and 0 < value <= MAX_NUMBER


def annotation_ok(key: Any, value: Any) -> bool:
    """An annotation X-Ray indexes: a string, boolean or finite number under a 1-500 character key."""
    kind = type(value)
    return (
        kind is str or kind is bool or ((kind is int or kind is float) and -MAX_NUMBER <= value <= MAX_NUMBER)
    ) and (type(key) is str and 0 < len(key) <= 500)


def _walk(e: Entity, depth: int, seg_id: str | None, ann: list[tuple[str, Any]]) -> bool:
    """Validate ``e`` and its subsegments, collect annotations; returns "throttled anywhere"."""
    if depth > MAX_DEPTH:
        raise Reject("InvalidSegment", f"subsegments nested deeper than {MAX_DEPTH}", seg_id)
    if e.id is None:
        raise Reject("MissingId", "id is required", seg_id)
    if type(e.id) is not str or not _HEX16.match(e.id):
        raise Reject("InvalidId", "id must be 16 lowercase hex digits", seg_id)
    name = e.name
    if type(name) is not str or not name:
        raise Reject("MissingName", "name is required", seg_id)
    if len(name) > 250:
        raise Reject("InvalidName", "name is longer than 250 characters", seg_id)
    start = e.start_time
    if not _is_time(start):
        if start is None:
            raise Reject("MissingStartTime", "start_time is required", seg_id)
        raise Reject("InvalidStartTime", "start_time must be a positive epoch-seconds number", seg_id)
    progress = e.in_progress
    if progress is not True:
        if progress is not None and progress is not False:
            raise Reject("InvalidInProgress", "in_progress must be a boolean", seg_id)
        end = e.end_time
        if not _is_time(end) or end < start:
            if end is None:
                raise Reject("MissingEndTime", "end_time or in_progress: true is required", seg_id)
            raise Reject("InvalidEndTime", "end_time must be a number not before start_time", seg_id)
    if e.cause is not None and not isinstance(e.cause, (str, dict)):
        raise Reject("InvalidCause", "cause must be an exception id or an object", seg_id)
    annotations = e.annotations
    if annotations and type(annotations) is dict:
        for key, value in annotations.items():
            if annotation_ok(key, value) and len(ann) < MAX_ANNOTATIONS:
                ann.append((key, value))
    throttled = e.throttle is True or (e.http is not None and _status(e.http) == 429)
    if e.subsegments:
        for sub in e.subsegments:
            throttled = _walk(sub, depth + 1, seg_id, ann) or throttled
    return throttled


def validate(e: Entity, ann: list[tuple[str, Any]] | None = None) -> bool:
    """Apply the segment-document rules to a top-level document; returns "throttled anywhere"."""
    seg_id = e.id if isinstance(e.id, str) and len(e.id) <= 64 else None
    throttled = _walk(e, 0, seg_id, [] if ann is None else ann)
    if e.trace_id is None:
        raise Reject("MissingTraceId", "trace_id is required", seg_id)
    if type(e.trace_id) is not str or not _TRACE_ID.match(e.trace_id):
        raise Reject("InvalidTraceId", "trace_id must look like 1-<8 hex>-<24 hex>", seg_id)
    if e.parent_id is not None and (type(e.parent_id) is not str or not _HEX16.match(e.parent_id)):
        raise Reject("InvalidParentId", "parent_id must be 16 lowercase hex digits", seg_id)
    if e.type is not None:
        if e.type != "subsegment":
            raise Reject("InvalidType", 'type must be "subsegment"', seg_id)
        if e.parent_id is None:
            raise Reject("MissingParentId", "an independent subsegment needs parent_id", seg_id)
    return throttled


def _str(value: Any, limit: int = 2048) -> str | None:
    return value[:limit] if type(value) is str else None


def _status(http: Any) -> int | None:
    if type(http) is not dict:
        return None
    response = http.get("response")
    if type(response) is not dict:
        return None
    return status_of(response.get("status"))


def status_of(status: Any) -> int | None:
    """An HTTP status code as X-Ray reads it: an int, or up to 3 digits in a string."""
    if type(status) is int and 0 <= status < 1000:
        return status
    if isinstance(status, str) and len(status) <= 3 and status.isascii() and status.isdigit():
        return int(status)
    return None


_EMPTY: dict[str, Any] = {}



def append(batch: SegmentBatch, e: Entity, doc: bytes, received: float, throttled: bool,
           ann: list[tuple[str, Any]]) -> None:  # fmt: skip
    """Add one validated document to ``batch``."""
    trace_id: str = e.trace_id
    trace_time = int(trace_id[2:10], 16)
    in_progress = e.in_progress is True
    http = e.http
    status = _status(http)
    request = http.get("request") if type(http) is dict else None
    if type(request) is not dict:
        request = _EMPTY
    b = batch
    key = trace_key(trace_id)
    b.trace_id.append(trace_id)
    b.trace_key.append(key)
    b.id.append(e.id)
    b.parent_id.append(e.parent_id)
    b.is_sub.append(e.type == "subsegment")
    b.in_progress.append(in_progress)
    b.trace_time.append(trace_time)
    b.start_time.append(float(e.start_time))
    b.end_time.append(None if in_progress else float(e.end_time))
    b.received.append(received)
    b.name.append(e.name)
    b.origin.append(_str(e.origin, 250))
    if status is None:
        b.fault.append(e.fault is True)
        b.error.append(e.error is True)
        b.throttle.append(e.throttle is True)
    else:
        b.fault.append(e.fault is True or 500 <= status < 600)
        b.error.append(e.error is True or 400 <= status < 500)
        b.throttle.append(e.throttle is True or status == 429)
    b.any_throttle.append(throttled)
    b.http_method.append(_str(request.get("method"), 32))
    b.http_url.append(_str(request.get("url")))
    b.http_status.append(status)
    b.user_agent.append(_str(request.get("user_agent")))
    b.client_ip.append(_str(request.get("client_ip"), 128))
    b.user.append(_str(e.user, 250))
    b.doc.append(doc)
    for name, value in ann:
        b.ann_trace_id.append(trace_id)
        b.ann_trace_key.append(key)
        b.ann_trace_time.append(trace_time)
        b.ann_received.append(received)
        b.ann_key.append(name)
        kind = type(value)
        b.ann_str.append(value if kind is str else None)
        b.ann_bool.append(value if kind is bool else None)
        b.ann_num.append(float(value) if kind is int or kind is float else None)


def ingest(batch: SegmentBatch, body: bytes, received: float) -> str:
    """Decode, validate and append one document; returns its id or raises ``Reject``."""
    entity = decode(body)
    ann: list[tuple[str, Any]] = []
    throttled = validate(entity, ann)
    append(batch, entity, body, received, throttled, ann)
    return str(entity.id)

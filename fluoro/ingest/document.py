"""Segment-document validation and extraction into store columns.

msgspec decodes only the fields fluoro indexes (metadata and other large
payloads are skipped in C), then the rules of the X-Ray segment-document
schema are checked in Python.  Invalid nested data that X-Ray would strip is
not indexed but kept in the stored document.
"""

from __future__ import annotations

import math
import re
from typing import Any, Optional

import msgspec

from fluoro.ingest.errors import Reject
from fluoro.store.api import SegmentBatch

MAX_DOCUMENT = 64 * 1024
MAX_DEPTH = 32
MAX_ANNOTATIONS = 50
_HEX16 = re.compile(r"[0-9a-f]{16}\Z")
_TRACE_ID = re.compile(r"1-[0-9a-f]{8}-[0-9a-f]{24}\Z")


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
    subsegments: Optional[list[Entity]] = None


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
    return type(value) in (float, int) and math.isfinite(value) and value > 0


def _check_entity(e: Entity, depth: int, seg_id: Optional[str]) -> None:
    if depth > MAX_DEPTH:
        raise Reject("InvalidSegment", f"subsegments nested deeper than {MAX_DEPTH}", seg_id)
    if e.id is None:
        raise Reject("MissingId", "id is required", seg_id)
    if not isinstance(e.id, str) or not _HEX16.match(e.id):
        raise Reject("InvalidId", "id must be 16 lowercase hex digits", seg_id)
    if not isinstance(e.name, str) or not e.name:
        raise Reject("MissingName", "name is required", seg_id)
    if len(e.name) > 250:
        raise Reject("InvalidName", "name is longer than 250 characters", seg_id)
    if e.start_time is None:
        raise Reject("MissingStartTime", "start_time is required", seg_id)
    if not _is_time(e.start_time):
        raise Reject("InvalidStartTime", "start_time must be a positive epoch-seconds number", seg_id)
    if e.in_progress is not None and type(e.in_progress) is not bool:
        raise Reject("InvalidInProgress", "in_progress must be a boolean", seg_id)
    if e.in_progress is not True:
        if e.end_time is None:
            raise Reject("MissingEndTime", "end_time or in_progress: true is required", seg_id)
        if not _is_time(e.end_time) or e.end_time < e.start_time:
            raise Reject("InvalidEndTime", "end_time must be a number not before start_time", seg_id)
    if e.cause is not None and not isinstance(e.cause, (str, dict)):
        raise Reject("InvalidCause", "cause must be an exception id or an object", seg_id)
    if e.subsegments:
        for sub in e.subsegments:
            _check_entity(sub, depth + 1, seg_id)


def validate(e: Entity) -> None:
    """Apply the segment-document rules to a top-level document."""
    seg_id = e.id if isinstance(e.id, str) and len(e.id) <= 64 else None
    _check_entity(e, 0, seg_id)
    if e.trace_id is None:
        raise Reject("MissingTraceId", "trace_id is required", seg_id)
    if not isinstance(e.trace_id, str) or not _TRACE_ID.match(e.trace_id):
        raise Reject("InvalidTraceId", "trace_id must look like 1-<8 hex>-<24 hex>", seg_id)
    if e.parent_id is not None and (not isinstance(e.parent_id, str) or not _HEX16.match(e.parent_id)):
        raise Reject("InvalidParentId", "parent_id must be 16 lowercase hex digits", seg_id)
    if e.type is not None and e.type != "subsegment":
        raise Reject("InvalidType", 'type must be "subsegment"', seg_id)
    if e.type == "subsegment" and e.parent_id is None:
        raise Reject("MissingParentId", "an independent subsegment needs parent_id", seg_id)


def _str(value: Any, limit: int = 2048) -> Optional[str]:
    return value[:limit] if isinstance(value, str) else None


def _status(http: Any) -> Optional[int]:
    if not isinstance(http, dict):
        return None
    response = http.get("response")
    if not isinstance(response, dict):
        return None
    status = response.get("status")
    if type(status) is int and 0 <= status < 1000:
        return status
    if isinstance(status, str) and status.isdigit() and len(status) <= 3:
        return int(status)
    return None


def _throttled_anywhere(e: Entity) -> bool:
    if e.throttle is True or _status(e.http) == 429:
        return True
    return bool(e.subsegments) and any(_throttled_anywhere(s) for s in e.subsegments or ())


def _annotations(e: Entity, out: list[tuple[str, Any]]) -> None:
    if isinstance(e.annotations, dict):
        for key, value in e.annotations.items():
            if len(out) >= MAX_ANNOTATIONS:
                return
            if isinstance(key, str) and 0 < len(key) <= 500 and type(value) in (str, int, float, bool):
                if isinstance(value, float) and not math.isfinite(value):
                    continue
                out.append((key, value))
    for sub in e.subsegments or ():
        _annotations(sub, out)


def append(batch: SegmentBatch, e: Entity, doc: bytes, received: float) -> None:
    """Add one validated document to ``batch``."""
    trace_id: str = e.trace_id
    trace_time = int(trace_id[2:10], 16)
    in_progress = e.in_progress is True
    status = _status(e.http)
    request = e.http.get("request") if isinstance(e.http, dict) else None
    if not isinstance(request, dict):
        request = {}
    batch.trace_id.append(trace_id)
    batch.id.append(e.id)
    batch.parent_id.append(e.parent_id)
    batch.is_sub.append(e.type == "subsegment")
    batch.in_progress.append(in_progress)
    batch.trace_time.append(trace_time)
    batch.start_time.append(float(e.start_time))
    batch.end_time.append(None if in_progress else float(e.end_time))
    batch.received.append(received)
    batch.name.append(e.name)
    batch.origin.append(_str(e.origin, 250))
    batch.fault.append(e.fault is True or (status is not None and 500 <= status < 600))
    batch.error.append(e.error is True or (status is not None and 400 <= status < 500))
    batch.throttle.append(e.throttle is True or status == 429)
    batch.any_throttle.append(_throttled_anywhere(e))
    batch.http_method.append(_str(request.get("method"), 32))
    batch.http_url.append(_str(request.get("url")))
    batch.http_status.append(status)
    batch.user_agent.append(_str(request.get("user_agent")))
    batch.client_ip.append(_str(request.get("client_ip"), 128))
    batch.user.append(_str(e.user, 250))
    batch.doc.append(doc)
    found: list[tuple[str, Any]] = []
    _annotations(e, found)
    for key, value in found:
        batch.ann_trace_id.append(trace_id)
        batch.ann_trace_time.append(trace_time)
        batch.ann_key.append(key)
        batch.ann_str.append(value if isinstance(value, str) else None)
        batch.ann_bool.append(value if isinstance(value, bool) else None)
        batch.ann_num.append(float(value) if type(value) in (int, float) else None)


def ingest(batch: SegmentBatch, body: bytes, received: float) -> str:
    """Decode, validate and append one document; returns its id or raises ``Reject``."""
    entity = decode(body)
    validate(entity)
    append(batch, entity, body, received)
    return str(entity.id)

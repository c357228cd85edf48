"""The receive path's fast lane: strict structs check most rules in C and yield row tuples.

``document`` decodes into an ``Any``-typed ``Entity`` and checks every rule in
Python, then appends ~30 values to column lists: most of the receiver's CPU.
Here the typical document decodes into typed, GC-untracked structs whose
constraints (id lengths, name length, positive times, ``type`` literal,
``cause`` and ``http`` shapes) are the same rules checked by msgspec in C; the
hex digits of all ids are checked by one regex and the cross-field rules in
Python.  Anything the strict types do
not accept, and anything those checks refuse, goes through ``document``
unchanged, so a refused document gets the very ``Reject`` it got before, and
an accepted one the same column values (tests/server/ingest/test_fast.py
compares both paths on generated documents).

Rows are tuples in ``SEGMENT_SCHEMA`` / ``ANNOTATION_SCHEMA`` order
(``fluoro.store.columns``), which the receiver turns into Arrow columns per
batch: one tuple per document instead of ~30 list appends.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Callable, Literal, Optional, Union

import msgspec

from fluoro.ingest.document import (
    MAX_ANNOTATIONS,
    MAX_DEPTH,
    MAX_DOCUMENT,
    MAX_NUMBER,
    annotation_ok,
    append,
    decode,
    status_of,
    validate,
)
from fluoro.store.api import SegmentBatch, trace_key

# Noqa UP007/UP045: msgspec evaluates these annotations at runtime, on Python 3.9 too.
# Lengths are checked by msgspec; the hex digits of all of a document's ids in one regex call
# (a msgspec pattern costs a regex call per string, more than all the rest of the decode).
_Hex16 = Annotated[str, msgspec.Meta(min_length=16, max_length=16)]
_TraceId = Annotated[str, msgspec.Meta(min_length=35, max_length=35)]
_HEX_DIGITS = re.compile(r"[0-9a-f]*")
_Name = Annotated[str, msgspec.Meta(min_length=1, max_length=250)]
_Time = Union[Annotated[int, msgspec.Meta(gt=0)], Annotated[float, msgspec.Meta(gt=0)]]  # noqa: UP007


class _Object(msgspec.Struct, gc=False):
    """Any JSON object; its content is skipped (a ``cause`` only has to be an object or a string)."""


class _Response(msgspec.Struct, gc=False):
    status: Any = None


class _Request(msgspec.Struct, gc=False):
    method: Any = None
    url: Any = None
    user_agent: Any = None
    client_ip: Any = None


class _SubHttp(msgspec.Struct, gc=False):
    response: Optional[_Response] = None  # noqa: UP045


class _Http(msgspec.Struct, gc=False):
    request: Optional[_Request] = None  # noqa: UP045
    response: Optional[_Response] = None  # noqa: UP045


class _Sub(msgspec.Struct, gc=False):
    """An embedded subsegment: only what the rules look at (its trace_id/type/parent_id are not)."""

    id: _Hex16
    name: _Name
    start_time: _Time
    end_time: Optional[_Time] = None  # noqa: UP045
    in_progress: Optional[bool] = None  # noqa: UP045
    throttle: Any = None
    cause: Union[str, _Object, None] = None  # noqa: UP007
    http: Optional[_SubHttp] = None  # noqa: UP045
    annotations: Any = None
    subsegments: Optional[list[_Sub]] = None  # noqa: UP045


class _Doc(msgspec.Struct, gc=False):
    """A top-level segment document, or an independent subsegment."""

    id: _Hex16
    name: _Name
    trace_id: _TraceId
    start_time: _Time
    end_time: Optional[_Time] = None  # noqa: UP045
    in_progress: Optional[bool] = None  # noqa: UP045
    parent_id: Optional[_Hex16] = None  # noqa: UP045
    type: Optional[Literal["subsegment"]] = None  # noqa: UP045
    origin: Any = None
    user: Any = None
    fault: Any = None
    error: Any = None
    throttle: Any = None
    cause: Union[str, _Object, None] = None  # noqa: UP007
    http: Optional[_Http] = None  # noqa: UP045
    annotations: Any = None
    subsegments: Optional[list[_Sub]] = None  # noqa: UP045


_decode = msgspec.json.Decoder(_Doc).decode
_STRICT_ERRORS = (msgspec.ValidationError, msgspec.DecodeError, RecursionError, UnicodeDecodeError)
SegmentRow = tuple[Any, ...]
AnnotationRow = tuple[Any, ...]
# (document, trace id, id, start_time, end_time) -> the stored form (fluoro.store.doc_markers.pack).
Packer = Callable[[bytes, str, str, float, Optional[float]], bytes]


class _Lenient(Exception):
    """The strict lane cannot vouch for this document; the lenient one decides."""


def _walk(e: _Doc | _Sub, depth: int, ann: list[tuple[str, Any]], ids: list[str]) -> bool:
    """The rules msgspec cannot express, and the annotations; returns "throttled anywhere"."""
    start = e.start_time
    if depth > MAX_DEPTH or start > MAX_NUMBER:
        raise _Lenient
    ids.append(e.id)
    if e.in_progress is not True:
        end = e.end_time
        if end is None or end < start or end > MAX_NUMBER:
            raise _Lenient
    annotations = e.annotations
    if annotations and type(annotations) is dict:
        for key, value in annotations.items():
            # The common string annotation is checked inline; annotation_ok decides the rest.
            if ((type(value) is str and 0 < len(key) <= 500) or annotation_ok(key, value)) and len(ann) < MAX_ANNOTATIONS:
                ann.append((key, value))
    throttled = e.throttle is True
    http = e.http
    if not throttled and http is not None and http.response is not None:
        throttled = status_of(http.response.status) == 429
    subsegments = e.subsegments
    if subsegments:
        for sub in subsegments:
            throttled = _walk(sub, depth + 1, ann, ids) or throttled
    return throttled


def document_rows(
    body: bytes | memoryview, received: float, pack: Packer | None = None
) -> tuple[SegmentRow, list[AnnotationRow]]:
    """One document's segment row and annotation rows, or ``Reject`` exactly as ``document.ingest``.

    With ``pack``, the row's document is ``pack``'s output (bytes) instead of ``body``.
    """
    if len(body) <= MAX_DOCUMENT:
        try:
            return _strict_rows(_decode(body), body, received, pack)
        except (_Lenient, *_STRICT_ERRORS):
            pass
    row, annotations = lenient_rows(body, received)
    if pack is not None:  # SEGMENT_SCHEMA order: trace_id 0, id 2, start_time 7, end_time 8, doc 22
        row = (*row[:22], pack(bytes(body), row[0], row[2], row[7], row[8]))
    return row, annotations


def _strict_rows(
    e: _Doc, body: bytes | memoryview, received: float, pack: Packer | None
) -> tuple[SegmentRow, list[AnnotationRow]]:
    ann: list[tuple[str, Any]] = []
    trace_id = e.trace_id
    ids = [trace_id[2:10], trace_id[11:]]
    throttled = _walk(e, 0, ann, ids)
    parent_id = e.parent_id
    if parent_id is not None:
        ids.append(parent_id)
    elif e.type is not None:
        raise _Lenient  # an independent subsegment without parent_id
    if trace_id[:2] != "1-" or trace_id[10] != "-" or not _HEX_DIGITS.fullmatch("".join(ids)):
        raise _Lenient
    trace_time = int(trace_id[2:10], 16)
    key = trace_key(trace_id)
    in_progress = e.in_progress is True
    fault = e.fault is True
    error = e.error is True
    throttle = e.throttle is True
    status: int | None = None
    method = url = user_agent = client_ip = None
    http = e.http
    if http is not None:
        if http.response is not None:
            status = status_of(http.response.status)
            if status is not None:
                fault = fault or 500 <= status < 600
                error = error or 400 <= status < 500
                throttle = throttle or status == 429
        request = http.request
        if request is not None:
            method, url, user_agent, client_ip = request.method, request.url, request.user_agent, request.client_ip
            method = method[:32] if type(method) is str else None
            url = url[:2048] if type(url) is str else None
            user_agent = user_agent[:2048] if type(user_agent) is str else None
            client_ip = client_ip[:128] if type(client_ip) is str else None
    origin, user = e.origin, e.user
    segment_id, start = e.id, float(e.start_time)
    end = None if in_progress else float(e.end_time)  # type: ignore[arg-type]  # checked in _walk
    row = (
        trace_id, key, segment_id, parent_id, e.type is not None, in_progress, trace_time, start, end,
        received, e.name, origin[:250] if type(origin) is str else None, fault, error, throttle, throttled,
        method, url, status, user_agent, client_ip, user[:250] if type(user) is str else None,
        body if pack is None else pack(bytes(body), trace_id, segment_id, start, end),
    )  # fmt: skip
    if not ann:
        return row, []
    return row, [
        (trace_id, key, trace_time, received, name,
         value if type(value) is str else None,
         float(value) if type(value) is int or type(value) is float else None,
         value if type(value) is bool else None)
        for name, value in ann
    ]  # fmt: skip


def lenient_rows(body: bytes | memoryview, received: float) -> tuple[SegmentRow, list[AnnotationRow]]:
    """``document``'s decode + validate + append, as rows (the reference the fast lane must match)."""
    data = bytes(body)
    entity = decode(data)
    ann: list[tuple[str, Any]] = []
    throttled = validate(entity, ann)
    batch = SegmentBatch()
    append(batch, entity, body, received, throttled, ann)  # type: ignore[arg-type]  # Arrow takes both
    columns = list(vars(batch).values())
    row = tuple(c[0] for c in columns[:23])
    return row, [tuple(values) for values in zip(*columns[23:])]

"""Stored documents without the bytes their own row already holds.

Random ids and full-precision timestamps are the least compressible parts of
a segment document, and the ``segments`` row keeps each of them anyway.  So
before compression every occurrence of the trace id, the id and the exact
text of ``start_time``/``end_time`` becomes a one-byte marker (valid JSON
never contains raw control bytes), and reading puts them back.  The round
trip is exact: a number is replaced only when its shortest ``repr`` is what
the document holds, and documents stored before a marker existed simply
contain none of it.

The parent id is left in the text: a by-id read then need not fetch the
``parent_id`` column, whose random strings cost more to scan than every other
column it reads (about a third of the query), while in the compressed chunk it
costs about one byte (the parent's own document, usually in the same chunk,
holds the same id).  Documents stored earlier may hold ``PARENT_ID``; a reader
finds it with ``needs_parent`` and fetches their parent ids separately.
"""

from __future__ import annotations

TRACE_ID, ID, PARENT_ID, START, END = b"\x00", b"\x01", b"\x02", b"\x03", b"\x04"


def pack(doc: bytes, trace_id: str, seg_id: str, start: float, end: float | None) -> bytes:
    # A replace that finds nothing costs one scan, like the ``in`` test it would need.
    doc = doc.replace(trace_id.encode(), TRACE_ID).replace(seg_id.encode(), ID).replace(b"%r" % start, START)
    if end is not None:
        doc = doc.replace(b"%r" % end, END)
    return doc


def needs_parent(doc: bytes) -> bool:
    """A document stored with its parent id as a marker (before parent ids stayed in the text)."""
    return PARENT_ID in doc


def restore_parent(doc: bytes, parent_id: str | None) -> bytes:
    return doc.replace(PARENT_ID, parent_id.encode()) if parent_id else doc


def unpack(doc: bytes, trace_id: str, seg_id: str, start: float, end: float | None) -> bytes:
    if END in doc and end is not None:
        doc = doc.replace(END, b"%r" % end)
    if START in doc:
        doc = doc.replace(START, b"%r" % start)
    return doc.replace(ID, seg_id.encode()).replace(TRACE_ID, trace_id.encode())

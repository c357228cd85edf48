"""The daemon's UDP framing: ``{"format":"json","version":1}\\n<document>``.

Mirrors the AWS daemon: split at the first newline, accept the header when
``format`` is "json" (any case) and ``version`` is 1, ignore other header keys.
"""

from __future__ import annotations

import msgspec

from fluoro.ingest.errors import Reject

MAX_DATAGRAM = 64 * 1024
_HEADER_LINE = b'{"format":"json","version":1}\n'
_HEADER_SIZE = len(_HEADER_LINE)
_SPACE = frozenset(b" \t\n\r\x0b\x0c")  # what bytes.isspace() counts
_CANONICAL_HEADERS = frozenset({b'{"format":"json","version":1}', b'{"format": "json", "version": 1}'})


def split_datagram(data: bytes) -> bytes:
    """Return the document body of a daemon datagram, or raise ``Reject``."""
    return bytes(data[_body_start(data) :])


def datagram_body(data: bytes) -> memoryview:
    """``split_datagram`` without copying the body: a view into ``data``."""
    # What every SDK sends, followed by a body that is not all whitespace: no header to parse.
    if data.startswith(_HEADER_LINE) and len(data) > _HEADER_SIZE and data[_HEADER_SIZE] not in _SPACE:
        return memoryview(data)[_HEADER_SIZE:]
    return memoryview(data)[_body_start(data) :]


def _body_start(data: bytes) -> int:
    end = data.find(b"\n")
    header = data[:end] if end >= 0 else data
    if header not in _CANONICAL_HEADERS and not _header_ok(header):
        raise Reject("InvalidHeader", f"invalid header: {header[:80]!r}")
    first = data[end + 1 : end + 2]  # only an all-whitespace body is copied to be checked
    if end < 0 or not first or (first.isspace() and data[end + 1 :].isspace()):
        raise Reject("MissingSegment", "missing header or segment")
    return end + 1


def _header_ok(header: bytes) -> bool:
    try:
        value = msgspec.json.decode(header)
    except (msgspec.DecodeError, RecursionError):
        return False
    if not isinstance(value, dict):
        return False
    fmt = value.get("format")
    version = value.get("version")
    return (
        isinstance(fmt, str)
        and fmt.lower() == "json"
        and type(version) in (int, float)
        and version == 1
    )

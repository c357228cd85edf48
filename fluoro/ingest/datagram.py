"""The daemon's UDP framing: ``{"format":"json","version":1}\\n<document>``.

Mirrors the AWS daemon: split at the first newline, accept the header when
``format`` is "json" (any case) and ``version`` is 1, ignore other header keys.
"""

from __future__ import annotations

import msgspec

from fluoro.ingest.errors import Reject

MAX_DATAGRAM = 64 * 1024
_CANONICAL_HEADERS = frozenset({b'{"format":"json","version":1}', b'{"format": "json", "version": 1}'})


def split_datagram(data: bytes) -> bytes:
    """Return the document body of a daemon datagram, or raise ``Reject``."""
    header, sep, body = data.partition(b"\n")
    if header not in _CANONICAL_HEADERS and not _header_ok(header):
        raise Reject("InvalidHeader", f"invalid header: {header[:80]!r}")
    if not sep or not body.strip():
        raise Reject("MissingSegment", "missing header or segment")
    return body


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

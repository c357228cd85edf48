"""The ``X-Amzn-Trace-Id`` header, parsed and formatted in one place.

Parsing is more tolerant than upstream (trailing ``;``, spaces around parts and
``=`` signs, ``Sampled=true``), and a W3C ``traceparent`` maps one to one onto it:
an X-Ray trace id ``1-XXXXXXXX-YYYYYYYYYYYYYYYYYYYYYYYY`` is the W3C trace id
``XXXXXXXXYYYYYYYYYYYYYYYYYYYYYYYY``.
"""

from __future__ import annotations

import logging
import re

log = logging.getLogger(__name__)

ROOT = "Root"
PARENT = "Parent"
SAMPLE = "Sampled"
SELF = "Self"
HEADER_DELIMITER = ";"

_TRUE = ("1", "true", "True")
_FALSE = ("0", "false", "False")
_W3C = r"^\s*([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?\s*$"
_XRAY_ROOT = r"^1-([0-9a-fA-F]{8})-([0-9a-fA-F]{24})$"


def _normalize_sampled(sampled: object) -> object:
    if sampled == "?":
        return "?"
    if sampled is True or sampled in _TRUE or (type(sampled) is int and sampled == 1):
        return 1
    if sampled is False or sampled in _FALSE or (type(sampled) is int and sampled == 0):
        return 0
    return None


class TraceHeader:
    """Root trace id, parent entity id, sampling decision and any extra ``key=value`` data."""

    __slots__ = ("_root", "_parent", "_sampled", "_data")

    def __init__(self, root: str | None = None, parent: str | None = None,
                 sampled: object = None, data: dict | None = None) -> None:
        self._root = root
        self._parent = parent
        self._sampled = _normalize_sampled(sampled)
        self._data = data

    @classmethod
    def from_header_str(cls, header: str | None) -> TraceHeader:
        """Parse a header value; anything unreadable yields an empty header and a warning."""
        if not header:
            return cls()
        try:
            if not isinstance(header, str):
                header = header.decode("latin-1") if isinstance(header, (bytes, bytearray)) else str(header)
            root = parent = sampled = None
            data: dict = {}
            for part in header.split(HEADER_DELIMITER):
                part = part.strip()
                if not part:
                    continue
                key, sep, value = part.partition("=")
                if not sep:
                    raise ValueError("part without '=': %r" % part)
                key = key.strip()
                value = value.strip()
                if key == ROOT:
                    root = value
                elif key == PARENT:
                    parent = value
                elif key == SAMPLE:
                    sampled = value
                elif key == SELF:
                    continue
                else:
                    data[key] = value
            return cls(root=root, parent=parent, sampled=sampled, data=data)
        except Exception:
            log.warning("malformed tracing header %s, ignore.", header)
            return cls()

    @classmethod
    def from_traceparent(cls, traceparent: str | None) -> TraceHeader | None:
        """Read a W3C ``traceparent``; None when absent or invalid."""
        if not traceparent or not isinstance(traceparent, str):
            return None
        m = re.match(_W3C, traceparent)
        if not m or m.group(1) == "ff" or set(m.group(2)) == {"0"} or set(m.group(3)) == {"0"}:
            return None
        if m.group(1) == "00" and m.group(5):
            return None  # version 00 has exactly four fields; only later versions may add more
        trace = m.group(2)
        return cls(root="1-%s-%s" % (trace[:8], trace[8:]), parent=m.group(3),
                   sampled=int(m.group(4), 16) & 1, data={})

    def to_header_str(self) -> str:
        parts = []
        if self._root:
            parts.append("%s=%s" % (ROOT, self._root))
        if self._parent:
            parts.append("%s=%s" % (PARENT, self._parent))
        if self._sampled is not None:
            parts.append("%s=%s" % (SAMPLE, self._sampled))
        if self._data:
            parts.extend("%s=%s" % (k, v) for k, v in self._data.items())
        return HEADER_DELIMITER.join(parts)

    def to_traceparent(self) -> str | None:
        """The W3C form of this header, if the root is an X-Ray id with a parent."""
        m = re.match(_XRAY_ROOT, self._root or "")
        if not m or not self._parent or len(self._parent) != 16:
            return None
        return "00-%s%s-%s-%s" % (m.group(1).lower(), m.group(2).lower(), self._parent.lower(),
                                  "01" if self._sampled == 1 else "00")

    @property
    def root(self) -> str | None:
        return self._root

    @property
    def parent(self) -> str | None:
        return self._parent

    @property
    def sampled(self) -> object:
        return self._sampled

    @property
    def data(self) -> dict | None:
        return self._data

    def __repr__(self) -> str:
        return "TraceHeader(%r)" % self.to_header_str()

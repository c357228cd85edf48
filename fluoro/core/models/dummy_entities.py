"""Null objects for unsampled requests: the same API as real entities, nothing recorded.

Call sites never branch on sampling. Unlike upstream, a dummy subsegment is built
with a single cheap initialiser (its constant fields are class defaults), so the
unsampled path is the fast one.
"""

from __future__ import annotations

import os
import time

from .entity import _name_cache, sanitize_name
from .noop_traceid import NoOpTraceId
from .segment import Segment
from .subsegment import Subsegment
from .traceid import new_entity_id, new_trace_id

NOOP_TRACE_ID = NoOpTraceId().to_id()
NOOP_ENTITY_ID = "0000000000000000"


_NOOP_ID_KEY = "AWS_XRAY_NOOP_ID"
_environ = os.environ
try:  # os.environ's own storage (a dict of encoded keys and values, kept in step by os.environ)
    _environ_data: dict | None = _environ._data  # type: ignore[attr-defined]
    _noop_key = _environ.encodekey(_NOOP_ID_KEY)  # type: ignore[attr-defined]
    _decode_value = _environ.decodevalue  # type: ignore[attr-defined]
except AttributeError:  # another Python's os.environ: the plain lookup below
    _environ_data = None


def _noop_ids_enabled() -> bool:
    """``AWS_XRAY_NOOP_ID`` as upstream reads it: anything but ``false`` means all-zero ids.

    Read per unsampled segment, so it is read from ``os.environ``'s own dict: ``os.getenv``
    of an unset variable raises and catches a ``KeyError`` inside ``os.environ``, about
    11,000 instructions, half of what an unsampled segment costs. Same result as
    ``os.getenv``, which reads that dict too (``os.putenv`` reaches neither).
    """
    if _environ_data is not None and os.environ is _environ:
        raw = _environ_data.get(_noop_key)
        if raw is None:
            return True
        return _decode_value(raw).lower() != "false"
    return os.getenv(_NOOP_ID_KEY, "true").lower() != "false"


class _Unrecorded:
    """The recording methods of an entity, as no-ops (unsampled entities record nothing)."""

    def set_aws(self, aws_meta: dict) -> None:
        pass

    def put_http_meta(self, key: str, value: object) -> None:
        pass

    def put_annotation(self, key: str, value: object) -> None:
        pass

    def put_metadata(self, key: str, value: object, namespace: str = "default") -> None:
        pass

    def apply_status_code(self, status_code: object) -> None:
        pass

    def add_exception(self, exception: BaseException, stack: list | None, remote: bool = False) -> None:
        pass

    def set_user(self, user: str) -> None:
        pass

    def set_service(self, service_info: dict) -> None:
        pass

    def serialize(self) -> None:
        return None


class DummySegment(_Unrecorded, Segment):
    """A segment that is not sampled: nothing is recorded or sent.

    The recorder's own paths (``begin_subsegment``, ``@capture``) do not link the dummy
    subsegments they create into ``subsegments``: an unsampled segment is never sent, so
    the list would only grow, and a long-lived unsampled segment (a worker's, a batch
    job's) would hold every dummy ever created under it. ``add_subsegment`` called
    explicitly still links, as upstream's does.
    """

    __slots__ = ("_noop_ids",)

    # Never serialized and the same for every dummy, so not set per instance (an instance
    # that sets one gets its own value in ``__dict__``).
    parent_id = None
    service = None
    _aws_template = None
    _subsegments = None

    def __init__(self, name: str = "dummy", traceid: str | None = None) -> None:
        # Read per segment, as upstream does; its subsegments follow the segment's choice.
        self._noop_ids = noop = _noop_ids_enabled()
        if noop:
            self.id = NOOP_ENTITY_ID
            self.trace_id = NOOP_TRACE_ID
        else:
            self.id = new_entity_id()
            self.trace_id = traceid or new_trace_id()
        name = name or "dummy"
        clean = _name_cache.get(name)
        self.name = clean if clean is not None else sanitize_name(name)
        self.start_time = time.time()
        self._open = 0
        self._total = 0
        self.in_progress = True
        self.sampled = False  # a slot: read on every end_subsegment


class DummySubsegment(_Unrecorded, Subsegment):
    """A subsegment of an unsampled trace.

    Fields that are the same for every dummy are class defaults, so creating one (on the
    unsampled hot path) sets only what differs: name, times, parents, ``in_progress``,
    and the ids when ``AWS_XRAY_NOOP_ID=false``.
    """

    user = None
    id = NOOP_ENTITY_ID
    trace_id = NOOP_TRACE_ID
    namespace = "dummy"
    sampled = False
    parent_id = None
    _subsegments = None

    def __init__(self, segment: Segment, name: str = "dummy") -> None:
        # Deliberately not Subsegment.__init__: no random id unless AWS_XRAY_NOOP_ID=false.
        if not getattr(segment, "_noop_ids", _NOOP):
            self.id = new_entity_id()
        trace_id = segment.trace_id
        if trace_id is not NOOP_TRACE_ID:
            self.trace_id = trace_id
        clean = _name_cache.get(name)
        self.name = clean if clean is not None else sanitize_name(name)
        self.start_time = time.time()
        self.parent_segment = segment
        self.in_progress = True

    def set_sql(self, sql: dict) -> None:
        pass


# Read once for dummies under sampled segments (begin_subsegment_without_sampling): a per-entity
# environment lookup made upstream's unsampled path slower than the sampled one.
_NOOP = _noop_ids_enabled()


def refresh_noop_setting() -> None:
    """Re-read ``AWS_XRAY_NOOP_ID`` (tests and long-lived processes that change it)."""
    global _NOOP
    _NOOP = _noop_ids_enabled()

"""Null objects for unsampled requests: the same API as real entities, nothing recorded.

Call sites never branch on sampling. Unlike upstream, a dummy subsegment is built
with a single cheap initialiser, so the unsampled path is the fast one.
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


def _noop_ids_enabled() -> bool:
    return os.getenv("AWS_XRAY_NOOP_ID", "true").lower() != "false"


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
    """A segment that is not sampled: nothing is recorded or sent."""

    def __init__(self, name: str = "dummy", traceid: str | None = None) -> None:
        # Read per segment, as upstream does; its subsegments follow the segment's choice.
        self._noop_ids = noop = _noop_ids_enabled()
        if noop:
            super().__init__(name=name or "dummy", entityid=NOOP_ENTITY_ID, traceid=NOOP_TRACE_ID, sampled=False)
        else:
            super().__init__(name=name or "dummy", entityid=new_entity_id(),
                             traceid=traceid or new_trace_id(), sampled=False)



class DummySubsegment(_Unrecorded, Subsegment):
    """A subsegment of an unsampled trace."""

    user = None

    def __init__(self, segment: Segment, name: str = "dummy") -> None:
        # Deliberately not Subsegment.__init__: no random id unless AWS_XRAY_NOOP_ID=false.
        self.id = NOOP_ENTITY_ID if getattr(segment, "_noop_ids", _NOOP) else new_entity_id()
        clean = _name_cache.get(name)
        self.name = clean if clean is not None else sanitize_name(name)
        self.start_time = time.time()
        self.parent_id = None
        self.parent_segment = segment
        self.trace_id = segment.trace_id
        self.namespace = "dummy"
        self.in_progress = True
        self.sampled = False
        self._subsegments = None

    def set_sql(self, sql: dict) -> None:
        pass



# Read once for dummies under sampled segments (begin_subsegment_without_sampling): a per-entity
# environment lookup made upstream's unsampled path slower than the sampled one.
_NOOP = _noop_ids_enabled()


def refresh_noop_setting() -> None:
    """Re-read ``AWS_XRAY_NOOP_ID`` (tests and long-lived processes that change it)."""
    global _NOOP
    _NOOP = _noop_ids_enabled()

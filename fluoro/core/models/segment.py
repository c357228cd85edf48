"""A segment: the work one service did for one request."""

from __future__ import annotations

import time

from ..exceptions.exceptions import SegmentNameMissingException
from .entity import Entity, _name_cache, sanitize_name
from .traceid import _refill_ids, _take_id, trace_id_at

ORIGIN_TRACE_HEADER_ATTR_KEY = "_origin_trace_header"


def record_exit_exception(entity, exc_val, exc_tb, limit: int) -> None:  # type: ignore[no-untyped-def]
    """Record the exception leaving a ``with`` block on its entity (never raises)."""
    import traceback

    try:
        entity.add_exception(exc_val, traceback.extract_tb(exc_tb, limit=limit))
    except Exception:
        pass


class SegmentContextManager:
    """``with xray_recorder.in_segment('name') as segment:``; exceptions are recorded, never swallowed."""

    def __init__(self, recorder, name: str | None = None, **segment_kwargs) -> None:  # type: ignore[no-untyped-def]
        self.name = name
        self.segment_kwargs = segment_kwargs
        self.recorder = recorder
        self.segment = None

    def __enter__(self):  # type: ignore[no-untyped-def]
        self.segment = self.recorder.begin_segment(name=self.name, **self.segment_kwargs)
        return self.segment

    def __exit__(self, exc_type, exc_val, exc_tb) -> None:  # type: ignore[no-untyped-def]
        if self.segment is None:
            return
        if exc_type is not None:
            record_exit_exception(self.segment, exc_val, exc_tb, self.recorder.max_trace_back)
        self.recorder.end_segment()


class _CounterView:
    """The ``AtomicCounter`` interface upstream code reads on ``ref_counter``."""

    __slots__ = ("_segment", "_attr")

    def __init__(self, segment: Segment, attr: str) -> None:
        self._segment = segment
        self._attr = attr

    def get_current(self) -> int:
        return int(getattr(self._segment, self._attr))

    @property
    def value(self) -> int:
        return self.get_current()


class Segment(Entity):
    """The work one service did for one request; sent when it and all its subsegments are closed."""

    # Subsegments added and not yet closed (ready_to_send), and held in the tree (streaming).
    # Plain integer updates: under the GIL a single ``+=`` on a slot is not interrupted, and
    # the counters only decide when to send, so no lock is taken on the hot path.
    __slots__ = ("_open", "_total", "service", "_aws_template")

    user = None
    origin = None

    def __init__(self, name: str, entityid: str | None = None, traceid: str | None = None,
                 parent_id: str | None = None, sampled: bool = True) -> None:
        if not name:
            raise SegmentNameMissingException("Segment name is required.")
        if entityid:
            self.id = entityid
        else:
            try:
                self.id = _take_id()
            except IndexError:
                self.id = _refill_ids()
        clean = _name_cache.get(name)
        self.name = clean if clean is not None else sanitize_name(name)
        self.start_time = now = time.time()
        self._open = 0
        self._total = 0
        # The trace id's epoch is the segment's start (one clock read, not two).
        self.trace_id = traceid or trace_id_at(now)
        self.parent_id = parent_id
        self.in_progress = True
        self.sampled = sampled if not sampled else True
        self._subsegments = None
        self.service = None
        # Shared, read-only ``aws`` block (SDK and plugin data); copied on first access.
        self._aws_template = None

    @property
    def ref_counter(self) -> _CounterView:
        return _CounterView(self, "_open")

    @property
    def _subsegments_counter(self) -> _CounterView:
        return _CounterView(self, "_total")

    def add_subsegment(self, subsegment: Entity) -> None:
        super().add_subsegment(subsegment)
        self._open += 1
        self._total += 1

    def increment(self) -> None:
        self._open += 1
        self._total += 1

    def decrement_ref_counter(self) -> None:
        self._open -= 1

    def ready_to_send(self) -> bool:
        return self._open <= 0 and not self.in_progress

    def get_total_subsegments_size(self) -> int:
        return self._total

    def decrement_subsegments_size(self) -> int:
        self._total -= 1
        return self._total

    def remove_subsegment(self, subsegment: Entity) -> None:
        super().remove_subsegment(subsegment)
        self._total -= 1

    def set_user(self, user: str) -> None:
        self._check_ended()
        self.user = user

    def set_service(self, service_info: dict) -> None:
        self.service = service_info

    def set_rule_name(self, rule_name: str) -> None:
        aws = self.aws
        xray = aws.get("xray")
        if xray is None:
            xray = aws["xray"] = {}
        xray["sampling_rule_name"] = rule_name

    def to_dict(self) -> dict:
        try:
            end = self.end_time
        except AttributeError:  # still open
            end = None
        parent_id = self.parent_id
        if end is not None and not parent_id:  # the usual case, built in one step
            d = {"id": self.id, "name": self.name, "start_time": self.start_time, "end_time": end,
                 "in_progress": self.in_progress, "trace_id": self.trace_id}
        else:
            d = self._identity()
            d["trace_id"] = self.trace_id
            if parent_id:
                d["parent_id"] = parent_id
        extra = self.__dict__  # see Entity._fill_common
        if extra:
            get = extra.get
            value = get("origin")
            if value:
                d["origin"] = value
            value = get("user")
            if value:
                d["user"] = value
            if self.service:
                d["service"] = self.service
            self._fill_common(d, extra, self._aws_template)
        else:
            if self.service:
                d["service"] = self.service
            if self._aws_template:
                d["aws"] = self._aws_template
        if self._subsegments:
            self._fill_children(d)
        return d

"""A subsegment: one unit of work inside a segment, and the ``capture`` decorator."""

from __future__ import annotations

import functools
import time

from ..exceptions.exceptions import SegmentNotFoundException
from .entity import Entity, _name_cache, sanitize_name
from .segment import record_exit_exception
from .traceid import _refill_ids, _take_id

SUBSEGMENT_RECORDING_ATTRIBUTE = "_self___SUBSEGMENT_RECORDING_ATTRIBUTE__"


def set_as_recording(decorated_func: object, wrapped: object) -> None:
    try:
        setattr(decorated_func, SUBSEGMENT_RECORDING_ATTRIBUTE, getattr(wrapped, "__name__", None))
    except (AttributeError, TypeError):
        pass


def is_already_recording(func: object) -> bool:
    return getattr(func, SUBSEGMENT_RECORDING_ATTRIBUTE, None) is not None


class SubsegmentContextManager:
    """``with recorder.in_subsegment('x') as sub:`` and ``@recorder.capture('x')`` in one object.

    Used as a decorator it wraps plain functions, methods, coroutine functions are handled
    by the async variant. A function already decorated is not recorded twice.
    """

    __slots__ = ("name", "subsegment_kwargs", "recorder", "subsegment")

    def __init__(self, recorder, name: str | None = None, **subsegment_kwargs) -> None:  # type: ignore[no-untyped-def]
        self.name = name
        self.subsegment_kwargs = subsegment_kwargs
        self.recorder = recorder
        self.subsegment = None

    def __call__(self, wrapped):  # type: ignore[no-untyped-def]
        if is_already_recording(wrapped):
            return wrapped
        if isinstance(wrapped, (staticmethod, classmethod)):
            return type(wrapped)(self(wrapped.__func__))
        recorder = self.recorder
        name = self.name or getattr(wrapped, "__name__", None) or "function"
        namespace = self.subsegment_kwargs.get("namespace", "local")

        import inspect  # decoration time only: keeps `import fluoro.core` cheap

        if inspect.iscoroutinefunction(wrapped):
            @functools.wraps(wrapped)
            async def async_wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
                return await recorder.record_subsegment_async(
                    wrapped, None, args, kwargs, name=name, namespace=namespace, meta_processor=None)

            set_as_recording(async_wrapper, wrapped)
            return async_wrapper

        make_wrapper = getattr(recorder, "_capture_wrapper", None)
        if make_wrapper is not None:
            wrapper = functools.wraps(wrapped)(make_wrapper(wrapped, name, namespace))
        else:  # a recorder-like object without fluoro's internals
            record = recorder.record_subsegment

            @functools.wraps(wrapped)
            def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
                return record(wrapped, None, args, kwargs, name, namespace, None)

        set_as_recording(wrapper, wrapped)
        return wrapper

    def __enter__(self):  # type: ignore[no-untyped-def]
        kwargs = self.subsegment_kwargs
        if kwargs:
            self.subsegment = sub = self.recorder.begin_subsegment(name=self.name, **kwargs)
        else:  # the usual ``in_subsegment("name")``: a positional call, no keyword dict
            self.subsegment = sub = self.recorder.begin_subsegment(self.name)
        return sub

    def __exit__(self, exc_type, exc_val, exc_tb) -> None:  # type: ignore[no-untyped-def]
        if self.subsegment is None:
            return
        if exc_type is not None:
            record_exit_exception(self.subsegment, exc_val, exc_tb, self.recorder.max_trace_back)
        self.recorder.end_subsegment()


class Subsegment(Entity):
    """One unit of work inside a segment (a call, a query, a block of code)."""

    __slots__ = ("parent_segment", "namespace")

    type = "subsegment"
    _sql = None

    def __init__(self, name: str, namespace: str, segment: Entity) -> None:
        if not segment:
            raise SegmentNotFoundException("A parent segment is required for creating subsegments.")
        try:
            self.id = _take_id()
        except IndexError:
            self.id = _refill_ids()
        clean = _name_cache.get(name)
        self.name = clean if clean is not None else sanitize_name(name)
        self.start_time = time.time()
        self.parent_id = None
        self.parent_segment = segment
        self.trace_id = segment.trace_id
        self.namespace = namespace
        self.in_progress = True
        self.sampled = True
        self._subsegments = None

    @property
    def sql(self) -> dict:
        d = self._sql
        if d is None:
            d = self._sql = {}
        return d

    @sql.setter
    def sql(self, value: dict) -> None:
        self._sql = value

    def add_subsegment(self, subsegment: Entity) -> None:
        super().add_subsegment(subsegment)
        self.parent_segment.increment()

    def remove_subsegment(self, subsegment: Entity) -> None:
        super().remove_subsegment(subsegment)
        self.parent_segment.decrement_subsegments_size()

    def close(self, end_time: float | None = None) -> None:
        if not self.in_progress:
            self._check_ended()
        self.end_time = end_time or time.time()
        self.in_progress = False
        self.parent_segment.decrement_ref_counter()

    def set_sql(self, sql: dict) -> None:
        self._check_ended()
        self._sql = sql

    def to_dict(self) -> dict:
        try:
            end = self.end_time
        except AttributeError:  # still open
            end = None
        parent_id = self.parent_id
        if end is not None and parent_id:  # the usual case, built in one step
            d = {"id": self.id, "name": self.name, "start_time": self.start_time, "end_time": end,
                 "in_progress": self.in_progress, "trace_id": self.trace_id, "parent_id": parent_id,
                 "type": self.type, "namespace": self.namespace}
        else:
            d = self._identity()
            d["trace_id"] = self.trace_id
            if parent_id:
                d["parent_id"] = parent_id
            d["type"] = self.type
            d["namespace"] = self.namespace
        extra = self.__dict__  # see Entity._fill_common
        if extra:
            sql = extra.get("_sql")
            if sql:
                d["sql"] = sql
            self._fill_common(d, extra)
        if self._subsegments:
            self._fill_children(d)
        return d

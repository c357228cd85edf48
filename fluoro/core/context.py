"""Where the current segment and its open subsegments live: one ``ContextVar`` per context.

A ``ContextVar`` holding an immutable stack gives thread isolation (a new thread starts
empty, like upstream's ``threading.local``) and, for free, correct parenting across
``asyncio`` tasks, ``asyncio.to_thread`` and anything run under ``copy_context()``:
every task pushes onto its own copy of the stack.

The stack is a chain of pairs ``(top, rest)`` ending in ``()``: a push allocates one
pair and a pop allocates nothing, where a flat tuple would be copied on both.
"""

from __future__ import annotations

import contextvars
import logging
import os

from .. import global_sdk_config
from .exceptions.exceptions import SegmentNotFoundException
from .models.dummy_entities import DummySegment
from .models.subsegment import Subsegment

log = logging.getLogger(__name__)

MISSING_SEGMENT_MSG = "cannot find the current segment/subsegment, please make sure you have a segment open"
SUPPORTED_CONTEXT_MISSING = ("RUNTIME_ERROR", "LOG_ERROR", "IGNORE_ERROR")
CXT_MISSING_STRATEGY_KEY = "AWS_XRAY_CONTEXT_MISSING"

_EMPTY: tuple = ()


class Context:
    """Stores trace entities for the running thread or task.

    ``context_missing`` decides what happens when code asks for the current entity and
    there is none: ``LOG_ERROR`` (default) logs, ``IGNORE_ERROR`` stays silent,
    ``RUNTIME_ERROR`` raises :class:`SegmentNotFoundException`.
    """

    def __init__(self, context_missing: str = "LOG_ERROR") -> None:
        self._entities: contextvars.ContextVar[tuple] = contextvars.ContextVar(
            "fluoro_entities_%x" % id(self), default=_EMPTY)
        strategy = os.getenv(CXT_MISSING_STRATEGY_KEY, context_missing)
        self._context_missing = strategy if strategy in SUPPORTED_CONTEXT_MISSING else "LOG_ERROR"
        self._missing_logged = False

    # -- segments --------------------------------------------------------------------
    def put_segment(self, segment) -> None:  # type: ignore[no-untyped-def]
        """Make ``segment`` the only entity of this thread/task (replacing what was there)."""
        self._entities.set((segment, _EMPTY))

    def end_segment(self, end_time: float | None = None) -> None:
        entity = self.get_trace_entity()
        if not entity:
            log.warning("No segment to end")
            return
        if isinstance(entity, Subsegment):
            entity.parent_segment.close(end_time)
        else:
            entity.close(end_time)

    # -- subsegments -----------------------------------------------------------------
    def put_subsegment(self, subsegment) -> None:  # type: ignore[no-untyped-def]
        stack = self._entities.get()
        if not stack:
            entity = self.get_trace_entity()
            if not entity:
                log.warning("Active segment or subsegment not found. Discarded %s.", subsegment.name)
                return
            stack = (entity, _EMPTY)
        stack[0].add_subsegment(subsegment)
        self._entities.set((subsegment, stack))

    def end_subsegment(self, end_time: float | None = None) -> bool:
        stack = self._entities.get()
        entity = stack[0] if stack else self.get_trace_entity()
        if isinstance(entity, Subsegment):
            entity.close(end_time)
            self._entities.set(stack[1] if stack else _EMPTY)
            return True
        if isinstance(entity, DummySegment):
            return False
        log.warning("No subsegment to end.")
        return False

    # -- access ----------------------------------------------------------------------
    def get_trace_entity(self):  # type: ignore[no-untyped-def]
        stack = self._entities.get()
        if stack:
            return stack[0]
        if not global_sdk_config.sdk_enabled():
            return DummySegment()
        return self.handle_context_missing()

    def set_trace_entity(self, trace_entity) -> None:  # type: ignore[no-untyped-def]
        """Adopt an entity from another thread or task as this one's current entity."""
        self._entities.set((trace_entity, _EMPTY))

    def clear_trace_entities(self) -> None:
        self._entities.set(_EMPTY)

    def handle_context_missing(self) -> None:
        strategy = self.context_missing
        if strategy == "RUNTIME_ERROR":
            raise SegmentNotFoundException(MISSING_SEGMENT_MSG)
        if strategy == "LOG_ERROR":
            log.error(MISSING_SEGMENT_MSG)
        return None

    def _is_subsegment(self, entity) -> bool:  # type: ignore[no-untyped-def]
        return isinstance(entity, Subsegment)

    @property
    def context_missing(self) -> str:
        return self._context_missing

    @context_missing.setter
    def context_missing(self, value: str) -> None:
        if value not in SUPPORTED_CONTEXT_MISSING:
            log.warning("specified context_missing not supported, using default.")
            return
        self._context_missing = value

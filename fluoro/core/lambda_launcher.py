"""Lambda mode: the function's segment is recorded by Lambda itself, so the SDK only
adds subsegments under a read-only facade built from ``_X_AMZN_TRACE_ID``."""

from __future__ import annotations

import contextvars
import logging
import os

from .. import global_sdk_config
from .context import Context
from .models.dummy_entities import DummySegment
from .models.facade_segment import FacadeSegment
from .models.subsegment import Subsegment
from .models.trace_header import TraceHeader

log = logging.getLogger(__name__)

LAMBDA_TRACE_HEADER_KEY = "_X_AMZN_TRACE_ID"
LAMBDA_TASK_ROOT_KEY = "LAMBDA_TASK_ROOT"
TOUCH_FILE_DIR_NAME = ".aws-xray"
TOUCH_FILE_NAME = "initialized"


def check_in_lambda() -> LambdaContext | None:
    """A :class:`LambdaContext` when running inside Lambda, else None."""
    if not os.getenv(LAMBDA_TASK_ROOT_KEY):
        return None
    import tempfile  # only inside Lambda

    touch_dir = os.path.join(tempfile.gettempdir(), TOUCH_FILE_DIR_NAME)
    touch_path = os.path.join(touch_dir, TOUCH_FILE_NAME)
    try:
        os.makedirs(touch_dir, exist_ok=True)
        with open(touch_path, "a"):
            os.utime(touch_path, None)
    except OSError:
        log.warning("Unable to write to %s. Failed to signal SDK initialization.", touch_path)
    return LambdaContext()


class LambdaContext(Context):
    """Reads the invocation's trace header on every access, so each invocation gets its
    own facade segment and no subsegment leaks into the next one."""

    def __init__(self) -> None:
        super().__init__()
        self._segment: contextvars.ContextVar = contextvars.ContextVar("fluoro_lambda_segment_%x" % id(self), default=None)

    def put_segment(self, segment) -> None:  # type: ignore[no-untyped-def]
        log.warning("Cannot create segments inside Lambda function. Discarded.")

    def end_segment(self, end_time: float | None = None) -> None:
        log.warning("Cannot end segment inside Lambda function. Ignored.")

    def put_subsegment(self, subsegment) -> None:  # type: ignore[no-untyped-def]
        current = self.get_trace_entity()
        if not isinstance(current, Subsegment) and (
            getattr(current, "initializing", None) or isinstance(current, DummySegment)
        ):
            if global_sdk_config.sdk_enabled() and not os.getenv(LAMBDA_TRACE_HEADER_KEY):
                log.warning("Subsegment %s discarded due to Lambda worker still initializing", subsegment.name)
            return
        current.add_subsegment(subsegment)
        self._entities.set((subsegment, self._entities.get()))  # see context.py: (top, rest)

    def get_trace_entity(self):  # type: ignore[no-untyped-def]
        self._refresh_context()
        stack = self._entities.get()
        if stack:
            return stack[0]
        return self._segment.get()

    def set_trace_entity(self, trace_entity) -> None:  # type: ignore[no-untyped-def]
        self._entities.set((trace_entity, ()))
        root = trace_entity.parent_segment if isinstance(trace_entity, Subsegment) else trace_entity
        self._segment.set(root)

    def clear_trace_entities(self) -> None:
        self._entities.set(())
        self._segment.set(None)

    def _refresh_context(self) -> None:
        header = TraceHeader.from_header_str(os.getenv(LAMBDA_TRACE_HEADER_KEY))
        segment = self._segment.get()
        if segment is not None and (not header.root or header.root == segment.trace_id):
            return
        self._initialize_context(header)

    def _initialize_context(self, trace_header: TraceHeader) -> None:
        sampled = None
        if not global_sdk_config.sdk_enabled():
            sampled = False
        elif trace_header.sampled == 0:
            sampled = False
        elif trace_header.sampled == 1:
            sampled = True
        if not trace_header.root or not trace_header.parent or sampled is None:
            segment = DummySegment()
        else:
            segment = FacadeSegment(name="facade", traceid=trace_header.root,
                                    entityid=trace_header.parent, sampled=sampled)
        segment.save_origin_trace_header(trace_header)
        self._segment.set(segment)
        self._entities.set(())

    @property
    def context_missing(self) -> None:  # type: ignore[override]
        return None

    @context_missing.setter
    def context_missing(self, value: str) -> None:
        pass

    def handle_context_missing(self) -> None:
        pass

"""One incoming HTTP request as a segment (inside Lambda, a subsegment).

Every framework middleware reads its own request object into the same few values
(host, method, path, url, user agent, client address) and hands them to
:meth:`TracedRequest.begin`; the trace header, sampling decision, naming, ``http`` block,
response header, faults and the end of the entity are decided here, once.

Tracing never breaks the application: a failure inside this module is logged and the
request goes on untraced.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import traceback
from typing import Any

from ..core.models import http
from ..core.models.segment import Segment
from ..core.models.subsegment import Subsegment
from ..core.models.trace_header import TraceHeader
from .util import (
    calculate_sampling_decision,
    calculate_segment_name,
    construct_xray_header,
    prepare_response_header,
)

log = logging.getLogger(__name__)

LAMBDA_TASK_ROOT_KEY = "LAMBDA_TASK_ROOT"


def in_lambda(recorder: Any) -> bool:
    """True when running inside Lambda with the Lambda context (upstream's check, minus the side effects)."""
    if not os.getenv(LAMBDA_TASK_ROOT_KEY):
        return False
    from ..core.lambda_launcher import LambdaContext

    return isinstance(recorder.context, LambdaContext)


_PLAIN_ENTITIES = (Segment, Subsegment)
_TRACE_ID = re.compile(r"^1-[0-9a-fA-F]{8}-[0-9a-fA-F]{24}$")
_ENTITY_ID = re.compile(r"^[0-9a-fA-F]{16}$")


def valid_or_empty(header: TraceHeader) -> TraceHeader:
    """The incoming header if its ids are well formed, else an empty one: X-Ray rejects a
    segment with a malformed trace or parent id, so the request starts a fresh trace."""
    if header.root and not _TRACE_ID.match(header.root):
        log.debug("ignoring malformed trace id %r", header.root)
        return TraceHeader()
    if header.parent and not _ENTITY_ID.match(header.parent):
        log.debug("ignoring malformed parent id %r", header.parent)
        return TraceHeader(root=header.root, sampled=header.sampled, data=header.data)
    return header


def has_trace_entity(recorder: Any) -> bool:
    """Whether a segment or subsegment is current, without context-missing handling: automatic
    instrumentation (templates, Django's database) outside a request records nothing, silently."""
    from ..core.lambda_launcher import LambdaContext

    context = recorder.context
    entities = getattr(context, "_entities", None)
    if entities is not None and not isinstance(context, LambdaContext):
        return bool(entities.get())
    try:
        return recorder.get_trace_entity() is not None
    except Exception:
        return False


def content_length(value: object) -> int | None:
    """A ``Content-Length`` header value as an int; None when absent or unreadable."""
    if value is None or value == "":
        return None
    try:
        return int(value)  # type: ignore[call-overload,no-any-return]
    except (TypeError, ValueError):
        return None


def exception_stack(exception: BaseException, limit: int | None) -> list:
    """The stack to record for ``exception``: the live stack joined with its traceback while
    it is being handled (as upstream), else its own traceback (hooks that run after the
    ``except`` block, like Flask's teardown, still get the frames where it was raised)."""
    if limit == 0:
        return []
    frames: list = list(traceback.extract_tb(exception.__traceback__))
    if sys.exc_info()[1] is exception:
        live = list(traceback.extract_stack())
        while live and live[-1].filename == __file__:
            live.pop()
        # The last live frame is the one handling the exception: the traceback starts there.
        frames = live[:-1] + frames
    return frames[-limit:] if limit else frames


class TracedRequest:
    """The entity recording one request, and what is needed to finish it."""

    __slots__ = ("recorder", "entity", "trace_header", "lambda_mode", "annotate", "ended")

    def __init__(self, recorder: Any, entity: Any, trace_header: Any, lambda_mode: bool, annotate: bool) -> None:
        self.recorder = recorder
        self.entity = entity
        self.trace_header = trace_header
        self.lambda_mode = lambda_mode
        self.annotate = annotate
        self.ended = False

    @classmethod
    def begin(cls, recorder: Any, headers: Any, *, host: str | None, method: str, path: str, url: str,
              user_agent: str | None = None, client_ip: str | None = None, forwarded: bool = False,
              naming_host: str | None = None, lambda_mode: bool = False,
              annotate: bool = False) -> TracedRequest | None:
        """Begin the request's segment (subsegment in Lambda mode) and record the request fields.

        ``host`` goes to the sampler; ``naming_host`` (default ``host``) to dynamic naming.
        ``forwarded`` says ``client_ip`` came from ``X-Forwarded-For``. ``annotate`` also
        writes the http fields as annotations (Django's ``URLS_AS_ANNOTATION``).
        None when the request cannot be traced (the reason is logged).
        """
        try:
            trace_header = valid_or_empty(construct_xray_header(headers))
            name = calculate_segment_name(naming_host if naming_host is not None else host, recorder)
            if not name:
                _log_missing_name()
                return None
            sampling_req = {"host": host, "method": method, "path": path, "service": name}
            decision = calculate_sampling_decision(trace_header=trace_header, recorder=recorder,
                                                   sampling_req=sampling_req)
            if lambda_mode:
                entity = recorder.begin_subsegment(name)
            else:
                entity = recorder.begin_segment(name=name, traceid=trace_header.root,
                                                parent_id=trace_header.parent, sampling=decision)
            if entity is None:
                return None
            entity.save_origin_trace_header(trace_header)
            traced = cls(recorder, entity, trace_header, lambda_mode, annotate)
            if not entity.sampled:
                return traced  # nothing recorded on an unsampled request is ever sent
            fields: dict = {http.URL: url, http.METHOD: method}
            if user_agent:
                fields[http.USER_AGENT] = user_agent
            if client_ip:
                fields[http.CLIENT_IP] = client_ip
                if forwarded:
                    fields[http.X_FORWARDED_FOR] = True
            if type(entity) in _PLAIN_ENTITIES and entity._http is None and not annotate:
                entity._http = {"request": {k: v for k, v in fields.items() if v is not None}}
            else:
                for key, value in fields.items():
                    traced._put(key, value)
            return traced
        except Exception:
            log.warning("could not begin tracing the request; it goes on untraced", exc_info=True)
            return None

    def _put(self, key: str, value: object) -> None:
        self.entity.put_http_meta(key, value)
        if self.annotate and value is not None:
            self.entity.put_annotation(key, value)

    def response(self, status: int | None, length: object = None) -> None:
        """Record the response status and ``Content-Length`` (a header value or an int)."""
        try:
            if status is not None:
                self._put(http.STATUS, status)
            size = content_length(length)
            if size is not None:
                self._put(http.CONTENT_LENGTH, size)
        except Exception:
            log.warning("could not record the response", exc_info=True)

    def response_header(self) -> str | None:
        """The ``X-Amzn-Trace-Id`` value to send back."""
        try:
            origin = self.trace_header
            if not self.entity.sampled and origin.root:
                # Unsampled: answer with the trace id the request came with, not the no-op id.
                sampled = 0 if origin.sampled == "?" else None
                return TraceHeader(root=origin.root, sampled=sampled).to_header_str()
            return prepare_response_header(origin, self.entity)
        except Exception:
            log.warning("could not build the response trace header", exc_info=True)
            return None

    def fault(self, exception: BaseException, status: int | None = 500, stack: list | None = None) -> None:
        """Record an exception (with its stack) as a fault; call it while the exception is handled."""
        try:
            if stack is None:
                stack = exception_stack(exception, self.recorder.max_trace_back)
            if status is not None:
                self._put(http.STATUS, status)
            self.entity.add_exception(exception, stack)
        except Exception:
            log.warning("could not record the exception", exc_info=True)

    def end(self, end_time: float | None = None) -> None:
        """End the segment (subsegment in Lambda mode); a second call does nothing."""
        if self.ended:
            return
        self.ended = True
        try:
            if not self.lambda_mode and self._not_current():
                # Ended from another context (e.g. when a server closes a streamed response):
                # make this request's segment current again so that it is the one ended.
                self.recorder.set_trace_entity(self.entity)
            if self.lambda_mode:
                self.recorder.end_subsegment(end_time)
            else:
                self.recorder.end_segment(end_time)
        except Exception:
            log.warning("could not end the request's segment", exc_info=True)

    def _not_current(self) -> bool:
        if not has_trace_entity(self.recorder):
            return True
        return self.recorder.current_segment() is not self.entity  # type: ignore[no-any-return]


_missing_name_logged = False


def _log_missing_name() -> None:
    global _missing_name_logged
    if not _missing_name_logged:
        _missing_name_logged = True
        log.error("No segment name: set AWS_XRAY_TRACING_NAME or xray_recorder.configure(service=...). "
                  "Requests are served untraced.")

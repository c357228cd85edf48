"""The recorder: begins and ends segments and subsegments, samples, and emits.

Public behaviour (method names, ``configure()`` parameters, defaults, environment
variables) mirrors ``aws_xray_sdk.core.recorder.AWSXRayRecorder`` 2.15; the hot path
is what differs: one context lookup per call, slot-based entities, no deep copies,
and no botocore.
"""

from __future__ import annotations

import logging
import os
import sys
import time

from .. import global_sdk_config
from ..sdk_config import ENABLED as _ENABLED
from ..version import VERSION
from .async_context import AsyncContext
from .context import Context
from .daemon_config import DaemonConfig
from .emitters.udp_emitter import UDPEmitter
from .exceptions.exceptions import SegmentNameMissingException, SegmentNotFoundException
from .lambda_launcher import check_in_lambda
from .models import dummy_entities as _dummy_entities
from .models.default_dynamic_naming import DefaultDynamicNaming
from .models.dummy_entities import (
    DummySegment,
    DummySubsegment,
)
from .models.entity import _copy_tree as _copy_meta
from .models.entity import _name_cache, sanitize_name
from .models.segment import Segment, SegmentContextManager
from .models.subsegment import Subsegment, SubsegmentContextManager
from .models.traceid import _refill_ids, _take_id, new_entity_id
from .streaming.default_streaming import DefaultStreaming
from .utils import stacktrace

log = logging.getLogger(__name__)

TRACING_NAME_KEY = "AWS_XRAY_TRACING_NAME"
DAEMON_ADDR_KEY = "AWS_XRAY_DAEMON_ADDRESS"
CONTEXT_MISSING_KEY = "AWS_XRAY_CONTEXT_MISSING"

# Same as upstream's (tools group documents by this name); the version is fluoro's.
XRAY_META = {"xray": {"sdk": "X-Ray for Python", "sdk_version": VERSION}}

_IMPLEMENTATIONS = {"cpython": "CPython", "pypy": "PyPy", "ironpython": "IronPython", "jython": "Jython"}
SERVICE_INFO = {
    "runtime": _IMPLEMENTATIONS.get(sys.implementation.name, sys.implementation.name),
    "runtime_version": "%d.%d.%d" % sys.version_info[:3],
}

_sdk_enabled = global_sdk_config.sdk_enabled




# Contexts whose storage the recorder may read directly (exact types, not subclasses).
_FAST_CONTEXTS = (Context, AsyncContext)
_PLAIN_SEGMENTS = (Segment, DummySegment)
_new = object.__new__
_EMPTY: tuple = ()
_now = time.time


class AWSXRayRecorder:
    """Records segments and subsegments and sends them to the daemon."""

    def __init__(self) -> None:
        context = check_in_lambda()
        if context:
            # Lambda: local sampling only, every closed subsegment streamed at once.
            from .sampling.local.sampler import LocalSampler

            self._context = context
            self._sampler = LocalSampler()
            self._streaming = DefaultStreaming(streaming_threshold=0)
        else:
            from .sampling.sampler import DefaultSampler

            self._context = Context()
            self._sampler = DefaultSampler()
            self._streaming = DefaultStreaming()
        self._enable_fast_path(self._context)
        self._emitter = UDPEmitter()
        self._sampling = True
        self._max_trace_back = 10
        self._plugins = None
        self._service = os.getenv(TRACING_NAME_KEY)
        self._dynamic_naming = None
        self._aws_metadata = _copy_meta(XRAY_META)
        self._origin = None
        self._stream_sql = True
        self._emit_traceparent = False
        if self._is_default_sampler(self._sampler):
            self._sampler.load_settings(DaemonConfig(), self._context)

    # -- configuration ---------------------------------------------------------------
    def configure(self, sampling=None, plugins=None, context_missing=None, sampling_rules=None,  # type: ignore[no-untyped-def]
                  daemon_address=None, service=None, context=None, emitter=None, streaming=None,
                  dynamic_naming=None, streaming_threshold=None, max_trace_back=None, sampler=None,
                  stream_sql=True, emit_traceparent=None):
        """Configure the recorder; call it before patching libraries.

        Environment variables win over arguments, as upstream: ``AWS_XRAY_TRACING_NAME``
        over ``service``, ``AWS_XRAY_DAEMON_ADDRESS`` over ``daemon_address``,
        ``AWS_XRAY_CONTEXT_MISSING`` over ``context_missing``. ``emit_traceparent=True``
        (fluoro only) adds a W3C ``traceparent`` next to every injected ``X-Amzn-Trace-Id``.
        """
        if sampling is not None:
            self.sampling = sampling
        if sampler:
            self.sampler = sampler
        if service:
            self.service = os.getenv(TRACING_NAME_KEY, service)
        if sampling_rules:
            self._load_sampling_rules(sampling_rules)
        if emitter:
            self.emitter = emitter
        if daemon_address:
            self.emitter.set_daemon_address(os.getenv(DAEMON_ADDR_KEY, daemon_address))
        if context:
            self.context = context
        if context_missing:
            self.context.context_missing = os.getenv(CONTEXT_MISSING_KEY, context_missing)
        if dynamic_naming:
            self.dynamic_naming = dynamic_naming
        if streaming:
            self.streaming = streaming
        if streaming_threshold is not None:
            self.streaming_threshold = streaming_threshold
        if type(max_trace_back) is int and max_trace_back >= 0:
            self.max_trace_back = max_trace_back
        if stream_sql is not None:
            self.stream_sql = stream_sql
        if emit_traceparent is not None:
            self._emit_traceparent = bool(emit_traceparent)
        if plugins:
            from .plugins.utils import get_plugin_modules

            for plugin in get_plugin_modules(plugins):
                plugin.initialize()
                if plugin.runtime_context:
                    # Replace, never mutate: segments share the previous dict until they copy it.
                    self._aws_metadata = dict(self._aws_metadata, **{plugin.SERVICE_NAME: plugin.runtime_context})
                    self._origin = plugin.ORIGIN
        elif plugins is not None:
            # An explicitly empty plugin list resets what earlier plugins recorded.
            self._aws_metadata = _copy_meta(XRAY_META)
            self._origin = None
        if self._is_default_sampler(self.sampler):
            self.sampler.load_settings(DaemonConfig(daemon_address), self.context, self._origin)

    # -- segments --------------------------------------------------------------------
    def in_segment(self, name=None, **segment_kwargs):  # type: ignore[no-untyped-def]
        return SegmentContextManager(self, name=name, **segment_kwargs)

    def in_subsegment(self, name=None, **subsegment_kwargs):  # type: ignore[no-untyped-def]
        return SubsegmentContextManager(self, name, **subsegment_kwargs)

    def begin_segment(self, name=None, traceid=None, parent_id=None, sampling=None):  # type: ignore[no-untyped-def]
        """Begin a segment and make it current; unsampled requests get a :class:`DummySegment`."""
        if not (_ENABLED[0] or _sdk_enabled()):
            return DummySegment(global_sdk_config.DISABLED_ENTITY_NAME)
        seg_name = name or self._service
        if not seg_name:
            raise SegmentNameMissingException("Segment name is required.")

        decision = True
        if sampling == 0:
            decision = False
        elif sampling:
            decision = sampling
        elif self._sampling:
            try:
                decision = self._sampler.should_trace({"service": seg_name})
            except Exception:
                log.warning("Sampler failed; recording this segment.", exc_info=True)
                decision = True

        if not decision:
            segment = DummySegment(seg_name, traceid)
        else:
            segment = Segment(seg_name, None, traceid, parent_id)
            self._populate_runtime_context(segment, decision)
        if self._context is self._fast_context:
            self._fast_var.set((segment, _EMPTY))  # Context.put_segment
        else:
            self._context.put_segment(segment)
        return segment

    def end_segment(self, end_time=None) -> None:  # type: ignore[no-untyped-def]
        if self._context is self._fast_context and _ENABLED[0]:
            var = self._fast_var
            stack = var.get()
            if stack:
                entity = stack[0]
                kind = type(entity)
                segment = entity.parent_segment if (kind is Subsegment or kind is DummySubsegment) else entity
                if type(segment) in _PLAIN_SEGMENTS:
                    # segment.close(), ready_to_send() and _send_segment() without their frames.
                    if not segment.in_progress:
                        segment._check_ended()
                    segment.end_time = end_time or _now()
                    segment.in_progress = False
                    if segment._open <= 0:
                        if segment.sampled:
                            try:  # self._emit(segment) without its frame
                                self._emitter.send_entity(segment)
                            except Exception:
                                log.warning("Emitter %r failed to send %s.", type(self._emitter).__name__,
                                            segment.name, exc_info=True)
                        var.set(_EMPTY)
                    return
        if not _sdk_enabled():
            return
        self.context.end_segment(end_time)
        segment = self.current_segment()
        if segment and segment.ready_to_send():
            self._send_segment()

    def current_segment(self):  # type: ignore[no-untyped-def]
        entity = self.get_trace_entity()
        if isinstance(entity, Subsegment):
            return entity.parent_segment
        return entity

    # -- subsegments -----------------------------------------------------------------
    def _begin_subsegment_helper(self, name, namespace="local", beginWithoutSampling=False):  # type: ignore[no-untyped-def]
        if not _sdk_enabled():
            return DummySubsegment(DummySegment(global_sdk_config.DISABLED_ENTITY_NAME))
        entity = self.get_trace_entity()
        if not entity:
            log.warning("No segment found, cannot begin subsegment %s.", name)
            return None
        segment = entity.parent_segment if isinstance(entity, Subsegment) else entity
        if beginWithoutSampling or not entity.sampled:
            subsegment = DummySubsegment(segment, name)
        else:
            subsegment = Subsegment(name, namespace, segment)
        self.context.put_subsegment(subsegment)
        return subsegment

    def begin_subsegment(self, name, namespace="local"):  # type: ignore[no-untyped-def]
        """Begin a subsegment under the current entity; None (with a warning) if there is none."""
        if self._context is self._fast_context and _ENABLED[0]:
            # Fast path for the built-in contexts and entity types; same effect as the general one.
            var = self._fast_var
            stack = var.get()
            if stack:
                parent = stack[0]
                kind = type(parent)
                if kind is Segment or kind is DummySegment:
                    segment = parent
                    seg_kind = kind
                elif kind is Subsegment or kind is DummySubsegment:
                    segment = parent.parent_segment
                    seg_kind = type(segment)
                else:
                    return self._begin_subsegment_helper(name, namespace)
                if seg_kind is Segment or (seg_kind is DummySegment and kind is Subsegment):
                    if parent.sampled:
                        # Subsegment(name, namespace, segment) without the class call and __init__ frame.
                        sub = _new(Subsegment)
                        try:
                            sub.id = _take_id()
                        except IndexError:
                            sub.id = _refill_ids()
                        sub.name = _name_cache.get(name) or sanitize_name(name)
                        sub.start_time = _now()
                        sub.parent_segment = segment
                        sub.trace_id = segment.trace_id
                        sub.namespace = namespace
                        sub.in_progress = True
                        sub.sampled = True
                        sub._subsegments = None
                    else:  # under begin_subsegment_without_sampling: linked, its segment is sent
                        sub = DummySubsegment(segment, name)
                    if not parent.in_progress:
                        parent._check_ended()
                    sub.parent_id = parent.id
                    children = parent._subsegments
                    if children is None:
                        parent._subsegments = [sub]
                    else:
                        children.append(sub)
                    segment._open += 1
                    segment._total += 1
                    var.set((sub, stack))
                    return sub
                if seg_kind is DummySegment:
                    # Unsampled: a dummy, not linked into its parent (see DummySegment).
                    if not parent.in_progress:
                        parent._check_ended()
                    sub = _new(DummySubsegment)
                    if not segment._noop_ids:
                        sub.id = new_entity_id()
                        sub.trace_id = segment.trace_id
                    sub.name = _name_cache.get(name) or sanitize_name(name)
                    sub.start_time = _now()
                    sub.parent_id = parent.id
                    sub.parent_segment = segment
                    sub.in_progress = True
                    segment._open += 1
                    var.set((sub, stack))
                    return sub
        return self._begin_subsegment_helper(name, namespace)

    def begin_subsegment_without_sampling(self, name):  # type: ignore[no-untyped-def]
        """An unsampled subsegment (and unsampled children) even inside a sampled segment."""
        return self._begin_subsegment_helper(name, beginWithoutSampling=True)

    def current_subsegment(self):  # type: ignore[no-untyped-def]
        if not _sdk_enabled():
            return DummySubsegment(DummySegment(global_sdk_config.DISABLED_ENTITY_NAME))
        entity = self.get_trace_entity()
        return entity if isinstance(entity, Subsegment) else None

    def end_subsegment(self, end_time=None) -> None:  # type: ignore[no-untyped-def]
        if self._context is self._fast_context and _ENABLED[0]:
            var = self._fast_var
            stack = var.get()
            if stack:
                sub = stack[0]
                kind = type(sub)
                if (kind is Subsegment or kind is DummySubsegment) and sub.in_progress:
                    sub.end_time = end_time or _now()
                    sub.in_progress = False
                    var.set(stack[1])
                    segment = sub.parent_segment
                    segment._open -= 1
                    if not segment.in_progress:
                        if segment.ready_to_send():
                            self._send_segment(segment)
                    elif segment.sampled:
                        streaming = self._streaming
                        if type(streaming) is DefaultStreaming:
                            if segment._total > streaming._threshold:
                                streaming.stream(segment, self._stream_subsegment_out)
                        elif streaming.is_eligible(segment):
                            streaming.stream(segment, self._stream_subsegment_out)
                    return
        if not _sdk_enabled():
            return
        if not self.context.end_subsegment(end_time):
            return
        segment = self.current_segment()
        if segment is None:
            return
        if segment.ready_to_send():
            self._send_segment()
        elif self._streaming.is_eligible(segment):
            self._streaming.stream(segment, self._stream_subsegment_out)

    # -- data on the current entity --------------------------------------------------
    def put_annotation(self, key, value) -> None:  # type: ignore[no-untyped-def]
        entity = self.get_trace_entity()
        if entity and entity.sampled:
            entity.put_annotation(key, value)

    def put_metadata(self, key, value, namespace="default") -> None:  # type: ignore[no-untyped-def]
        entity = self.get_trace_entity()
        if entity and entity.sampled:
            entity.put_metadata(key, value, namespace)

    def is_sampled(self) -> bool:
        if not _sdk_enabled():
            return False
        entity = self.get_trace_entity()
        return bool(entity and entity.sampled)

    def get_trace_entity(self):  # type: ignore[no-untyped-def]
        return self.context.get_trace_entity()

    def set_trace_entity(self, trace_entity) -> None:  # type: ignore[no-untyped-def]
        self.context.set_trace_entity(trace_entity)

    def clear_trace_entities(self) -> None:
        self.context.clear_trace_entities()

    def stream_subsegments(self) -> None:
        segment = self.current_segment()
        if self.streaming.is_eligible(segment):
            self.streaming.stream(segment, self._stream_subsegment_out)

    # -- capture ---------------------------------------------------------------------
    def capture(self, name=None):  # type: ignore[no-untyped-def]
        """Decorator (``@xray_recorder.capture('name')``) and context manager in one."""
        return self.in_subsegment(name=name)

    def _capture_wrapper(self, wrapped, name, namespace):  # type: ignore[no-untyped-def]
        """The ``@capture`` wrapper of a plain function.

        With the built-in contexts and entity types, a call does what
        ``record_subsegment`` would (begin, call, end) inline, with one context lookup
        before the call and one after, and no nested method calls; under an unsampled
        segment the dummy subsegment it pushes records nothing, not even exceptions.
        Everything else (custom contexts or entities, a subclass overriding
        ``record_subsegment``, a function that changed the context itself) goes through
        the general methods.
        """
        recorder = self
        record = self.record_subsegment
        begin, end = self.begin_subsegment, self.end_subsegment
        # Subclasses that override how a call is recorded keep their override.
        direct = type(self).record_subsegment is AWSXRayRecorder.record_subsegment
        clean_name = sanitize_name(name)
        enabled = _ENABLED
        new = _new
        now = _now
        take_id = _take_id

        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            if recorder._context is recorder._fast_context and enabled[0]:
                var = recorder._fast_var
                stack = var.get()
                if stack:
                    parent = stack[0]
                    kind = type(parent)
                    # Most likely first: unsampled at the top of a request, then sampled.
                    if kind is DummySegment or kind is Segment:
                        segment = parent
                        seg_kind = kind
                    elif kind is Subsegment or kind is DummySubsegment:
                        segment = parent.parent_segment
                        seg_kind = type(segment)
                    else:
                        seg_kind = None
                    if seg_kind is DummySegment and parent.in_progress:
                        # Unsampled: a dummy with its class defaults, not linked into its
                        # parent (see DummySegment); it records nothing, not even exceptions.
                        sub = new(DummySubsegment)
                        if not segment._noop_ids:
                            sub.id = new_entity_id()
                            sub.trace_id = segment.trace_id
                        sub.name = clean_name
                        sub.start_time = now()
                        sub.parent_id = parent.id
                        sub.parent_segment = segment
                        sub.in_progress = True
                        segment._open += 1
                        token = var.set((sub, stack))
                        try:
                            return wrapped(*args, **kwargs)
                        finally:
                            current = var.get()
                            if current and current[0] is sub and sub.in_progress:
                                sub.end_time = now()
                                sub.in_progress = False
                                # Back to ``stack`` as set(stack) would, without allocating a new
                                # Token: this frame pushed it, in this same context, and nothing
                                # replaced it.
                                if current[1] is stack:
                                    var.reset(token)
                                else:
                                    var.set(current[1])
                                segment._open -= 1
                                if not segment.in_progress and segment._open <= 0:
                                    recorder._send_segment(segment)
                            else:  # the function changed the context itself: the general path decides
                                recorder.end_subsegment()
                    if seg_kind is Segment and direct and parent.in_progress:
                        if parent.sampled:
                            sub = new(Subsegment)
                            try:
                                sub.id = take_id()
                            except IndexError:
                                sub.id = _refill_ids()
                            sub.namespace = namespace
                            sub.sampled = True
                        else:  # under begin_subsegment_without_sampling
                            sub = new(DummySubsegment)
                            if not _dummy_entities._NOOP:
                                sub.id = new_entity_id()
                        sub.name = clean_name
                        sub.start_time = now()
                        sub.parent_id = parent.id
                        sub.parent_segment = segment
                        sub.trace_id = segment.trace_id
                        sub.in_progress = True
                        sub._subsegments = None
                        children = parent._subsegments
                        if children is None:
                            parent._subsegments = [sub]
                        else:
                            children.append(sub)
                        segment._open += 1
                        segment._total += 1
                        token = var.set((sub, stack))
                        try:
                            value = wrapped(*args, **kwargs)
                        except Exception as exception:
                            recorder._finish_recorded(sub, wrapped, None, args, kwargs, None, exception,
                                                      stacktrace.stack_for(recorder._max_trace_back,
                                                                           handler_is_caller=True), None)
                            raise
                        current = var.get()
                        if current and current[0] is sub and sub.in_progress:
                            sub.end_time = now()
                            sub.in_progress = False
                            if current[1] is stack:  # see the unsampled branch
                                var.reset(token)
                            else:
                                var.set(current[1])
                            segment._open -= 1
                            if not segment.in_progress:
                                if segment.ready_to_send():
                                    recorder._send_segment(segment)
                            elif segment.sampled:
                                streaming = recorder._streaming
                                if type(streaming) is DefaultStreaming:
                                    if segment._total > streaming._threshold:
                                        streaming.stream(segment, recorder._stream_subsegment_out)
                                elif streaming.is_eligible(segment):
                                    streaming.stream(segment, recorder._stream_subsegment_out)
                        else:
                            recorder.end_subsegment()
                        return value
            if not direct:
                return record(wrapped, None, args, kwargs, name, namespace, None)
            # record_subsegment without its own frame.
            sub = begin(name, namespace)
            try:
                value = wrapped(*args, **kwargs)
            except Exception as exception:
                if sub is not None:
                    recorder._finish_recorded(sub, wrapped, None, args, kwargs, None, exception,
                                              stacktrace.stack_for(recorder._max_trace_back, handler_is_caller=True), None)
                raise
            if sub is not None:
                end()
            return value

        return wrapper

    def record_subsegment(self, wrapped, instance, args, kwargs, name, namespace, meta_processor):  # type: ignore[no-untyped-def]
        subsegment = self.begin_subsegment(name, namespace)
        try:
            return_value = wrapped(*args, **kwargs)
        except Exception as exception:
            stack = stacktrace.get_stacktrace(limit=self._max_trace_back)
            if subsegment is not None:
                self._finish_recorded(subsegment, wrapped, instance, args, kwargs, None,
                                      exception, stack, meta_processor)
            raise
        if subsegment is not None:
            if meta_processor is None:
                self.end_subsegment()
            else:
                self._finish_recorded(subsegment, wrapped, instance, args, kwargs, return_value,
                                      None, None, meta_processor)
        return return_value

    def _finish_recorded(self, subsegment, wrapped, instance, args, kwargs, return_value,  # type: ignore[no-untyped-def]
                         exception, stack, meta_processor) -> None:
        end_time = time.time()
        try:
            if meta_processor is not None:
                meta_processor(wrapped=wrapped, instance=instance, args=args, kwargs=kwargs,
                               return_value=return_value, exception=exception,
                               subsegment=subsegment, stack=stack)
            elif exception is not None:
                subsegment.add_exception(exception, stack)
        except Exception:
            log.warning("Failed to record metadata for subsegment %s.", getattr(subsegment, "name", None), exc_info=True)
        try:
            self.end_subsegment(end_time)
        except SegmentNotFoundException:
            raise
        except Exception:
            log.warning("Failed to end subsegment %s.", getattr(subsegment, "name", None), exc_info=True)

    # -- internals used by ext modules -----------------------------------------------
    def _populate_runtime_context(self, segment, sampling_decision) -> None:  # type: ignore[no-untyped-def]
        if self._origin:
            segment.origin = self._origin
        # Shared until someone reads or changes ``segment.aws`` (then it is copied).
        segment._aws_template = self._aws_metadata
        segment.service = SERVICE_INFO
        if isinstance(sampling_decision, str):
            segment.set_rule_name(sampling_decision)

    def _send_segment(self, segment=None) -> None:  # type: ignore[no-untyped-def]
        segment = segment or self.current_segment()
        if not segment:
            return
        if segment.sampled:
            self._emit(segment)
        self._context.clear_trace_entities()

    def _stream_subsegment_out(self, subsegment) -> None:  # type: ignore[no-untyped-def]
        log.debug("streaming subsegments...")
        if subsegment.sampled:
            self._emit(subsegment)

    def _emit(self, entity) -> None:  # type: ignore[no-untyped-def]
        """Hand an entity to the emitter; a failing (custom) emitter never breaks the application."""
        try:
            self._emitter.send_entity(entity)
        except Exception:
            log.warning("Emitter %r failed to send %s.", type(self._emitter).__name__, entity.name, exc_info=True)

    def _load_sampling_rules(self, sampling_rules) -> None:  # type: ignore[no-untyped-def]
        if not sampling_rules:
            return
        if isinstance(sampling_rules, dict):
            self.sampler.load_local_rules(sampling_rules)
        else:
            import json

            with open(sampling_rules) as f:
                self.sampler.load_local_rules(json.load(f))

    def _is_subsegment(self, entity) -> bool:  # type: ignore[no-untyped-def]
        return isinstance(entity, Subsegment)

    @staticmethod
    def _is_default_sampler(sampler) -> bool:  # type: ignore[no-untyped-def]
        from .sampling.sampler import DefaultSampler

        return isinstance(sampler, DefaultSampler)

    # -- properties ------------------------------------------------------------------
    @property
    def enabled(self) -> bool:
        return self._enabled  # type: ignore[attr-defined,no-any-return]

    @enabled.setter
    def enabled(self, value: bool) -> None:
        self._enabled = value

    @property
    def sampling(self) -> bool:
        return self._sampling

    @sampling.setter
    def sampling(self, value: bool) -> None:
        self._sampling = value

    @property
    def sampler(self):  # type: ignore[no-untyped-def]
        return self._sampler

    @sampler.setter
    def sampler(self, value) -> None:  # type: ignore[no-untyped-def]
        self._sampler = value

    @property
    def service(self):  # type: ignore[no-untyped-def]
        return self._service

    @service.setter
    def service(self, value) -> None:  # type: ignore[no-untyped-def]
        self._service = value

    @property
    def dynamic_naming(self):  # type: ignore[no-untyped-def]
        return self._dynamic_naming

    @dynamic_naming.setter
    def dynamic_naming(self, value) -> None:  # type: ignore[no-untyped-def]
        if isinstance(value, str):
            self._dynamic_naming = DefaultDynamicNaming(value, self.service)
        else:
            self._dynamic_naming = value

    @property
    def context(self):  # type: ignore[no-untyped-def]
        return self._context

    @context.setter
    def context(self, cxt) -> None:  # type: ignore[no-untyped-def]
        self._context = cxt
        self._enable_fast_path(cxt)

    def _enable_fast_path(self, cxt) -> None:  # type: ignore[no-untyped-def]
        """Built-in contexts expose their storage to the hot path; a context assigned any
        other way (or a custom one) simply takes the general path."""
        if type(cxt) in _FAST_CONTEXTS:
            self._fast_context, self._fast_var = cxt, cxt._entities
        else:
            self._fast_context = self._fast_var = None

    @property
    def emitter(self):  # type: ignore[no-untyped-def]
        return self._emitter

    @emitter.setter
    def emitter(self, value) -> None:  # type: ignore[no-untyped-def]
        self._emitter = value

    @property
    def streaming(self):  # type: ignore[no-untyped-def]
        return self._streaming

    @streaming.setter
    def streaming(self, value) -> None:  # type: ignore[no-untyped-def]
        self._streaming = value

    @property
    def streaming_threshold(self) -> int:
        return self.streaming.streaming_threshold  # type: ignore[no-any-return]

    @streaming_threshold.setter
    def streaming_threshold(self, value: int) -> None:
        self.streaming.streaming_threshold = value

    @property
    def max_trace_back(self) -> int:
        return self._max_trace_back

    @max_trace_back.setter
    def max_trace_back(self, value: int) -> None:
        self._max_trace_back = value

    @property
    def stream_sql(self) -> bool:
        return self._stream_sql

    @stream_sql.setter
    def stream_sql(self, value: bool) -> None:
        self._stream_sql = value

    @property
    def emit_traceparent(self) -> bool:
        return self._emit_traceparent

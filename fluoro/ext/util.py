"""Helpers shared by patchers and middlewares: trace headers in and out, naming, URLs."""

from __future__ import annotations

import re
from urllib.parse import urlparse

from ..core.models import http
from ..core.models.trace_header import TraceHeader

first_cap_re = re.compile("(.)([A-Z][a-z]+)")
all_cap_re = re.compile("([a-z0-9])([A-Z])")
UNKNOWN_HOSTNAME = "UNKNOWN HOST"


def _recorder():  # type: ignore[no-untyped-def]
    """The global recorder (imported on first use: ``fluoro.core`` imports this module's users)."""
    global _global_recorder
    if _global_recorder is None:
        from ..core import xray_recorder

        _global_recorder = xray_recorder
    return _global_recorder


_global_recorder = None


def inject_trace_header(headers, entity) -> None:  # type: ignore[no-untyped-def]
    """Add ``X-Amzn-Trace-Id`` (and, if configured, W3C ``traceparent``) for ``entity``.

    Unlike upstream, an unsampled request keeps propagating the trace id it arrived
    with (upstream sends an all-zero id), so downstream services stay in the same trace.
    """
    if not entity or headers is None:
        return
    try:
        segment = entity.parent_segment if getattr(entity, "type", None) == "subsegment" else entity
        origin = segment.get_origin_trace_header()
        data = origin.data if origin else None
        if not entity.sampled and origin is not None and origin.root:
            header = TraceHeader(root=origin.root, parent=origin.parent, sampled=0, data=data)
        else:
            header = TraceHeader(root=entity.trace_id, parent=entity.id, sampled=entity.sampled, data=data)
        headers[http.XRAY_HEADER] = header.to_header_str()
        if _recorder().emit_traceparent:
            traceparent = header.to_traceparent()
            if traceparent:
                headers[http.W3C_TRACEPARENT] = traceparent
    except Exception:  # never break the user's request over a header
        import logging

        logging.getLogger(__name__).debug("could not inject trace header", exc_info=True)


def calculate_sampling_decision(trace_header, recorder, sampling_req):  # type: ignore[no-untyped-def]
    """The incoming ``Sampled`` flag wins; then ``sampling=False``; then the sampler."""
    if trace_header.sampled is not None and trace_header.sampled != "?":
        return trace_header.sampled
    if not recorder.sampling:
        return 1
    decision = recorder.sampler.should_trace(sampling_req)
    return decision if decision else 0


def construct_xray_header(headers) -> TraceHeader:  # type: ignore[no-untyped-def]
    """The incoming trace context: ``X-Amzn-Trace-Id``, else a W3C ``traceparent``."""
    header_str = headers.get(http.XRAY_HEADER) or headers.get(http.ALT_XRAY_HEADER)
    if header_str:
        return TraceHeader.from_header_str(header_str)
    traceparent = headers.get(http.W3C_TRACEPARENT) or headers.get(http.ALT_W3C_TRACEPARENT)
    return TraceHeader.from_traceparent(traceparent) or TraceHeader()


def calculate_segment_name(host_name, recorder):  # type: ignore[no-untyped-def]
    if recorder.dynamic_naming:
        return recorder.dynamic_naming.get_name(host_name)
    return recorder.service


def prepare_response_header(origin_header, segment) -> str:  # type: ignore[no-untyped-def]
    """The response's ``X-Amzn-Trace-Id``: the decision is echoed only when it was asked for (``?``)."""
    if origin_header and origin_header.sampled == "?":
        header = TraceHeader(root=segment.trace_id, sampled=segment.sampled)
    else:
        header = TraceHeader(root=segment.trace_id)
    return header.to_header_str()


_snake_cache: dict[str, str] = {}


def to_snake_case(name: str) -> str:
    """``TableName`` -> ``table_name``; cached, since AWS parameter names repeat on every call."""
    snake = _snake_cache.get(name)
    if snake is None:
        snake = all_cap_re.sub(r"\1_\2", first_cap_re.sub(r"\1_\2", name)).lower()
        if len(_snake_cache) < 4096:
            _snake_cache[name] = snake
    return snake


def strip_url(url):  # type: ignore[no-untyped-def]
    """The URL without its query string."""
    return url.partition("?")[0] if url else url


def get_hostname(url):  # type: ignore[no-untyped-def]
    if url is None:
        return UNKNOWN_HOSTNAME
    hostname = urlparse(url).hostname
    return hostname if hostname is not None else UNKNOWN_HOSTNAME


def unwrap(obj, attr: str) -> None:  # type: ignore[no-untyped-def]
    """Undo a wrapt patch of ``obj.attr`` if there is one."""
    import wrapt

    f = getattr(obj, attr, None)
    if f and isinstance(f, wrapt.ObjectProxy) and hasattr(f, "__wrapped__"):
        setattr(obj, attr, f.__wrapped__)


def has_trace_entity() -> bool:
    """Is a segment or subsegment current? Asked quietly: no context-missing log or error.

    For hooks that fire on every call of a library (ORM calls, MongoDB commands) whether
    or not the application is tracing at that moment.
    """
    import contextvars

    from ..core import xray_recorder

    entities = getattr(xray_recorder.context, "_entities", None)
    if isinstance(entities, contextvars.ContextVar):
        return bool(entities.get())
    try:
        return xray_recorder.get_trace_entity() is not None
    except Exception:
        return False

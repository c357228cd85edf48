"""aiohttp client tracing: ``ClientSession(trace_configs=[aws_xray_trace_config()])``.

Each request is a ``remote`` subsegment (named ``name`` or the host) with method, URL
(no query) and status, and carries the trace header. A request that fails to connect
(``ClientConnectionError``, ``OSError``) is a ``local`` fault.
"""

from __future__ import annotations

from types import SimpleNamespace

from ...core import xray_recorder
from ...core.exceptions.exceptions import SegmentNotFoundException
from ...core.models import http
from ...core.utils import stacktrace
from ..util import get_hostname, inject_trace_header, strip_url

REMOTE_NAMESPACE = "remote"
LOCAL_NAMESPACE = "local"


def _local_exceptions() -> tuple:
    import aiohttp

    return (aiohttp.ClientConnectionError, OSError)


async def begin_subsegment(session, trace_config_ctx, params) -> None:  # type: ignore[no-untyped-def]
    name = trace_config_ctx.name or get_hostname(str(params.url))
    try:
        subsegment = xray_recorder.begin_subsegment(name, REMOTE_NAMESPACE)
    except SegmentNotFoundException:
        raise  # context_missing=RUNTIME_ERROR asked for it, as upstream
    except Exception:
        subsegment = None
    trace_config_ctx.subsegment = subsegment
    trace_config_ctx.give_up = subsegment is None
    if subsegment is None:
        return
    subsegment.put_http_meta(http.METHOD, params.method)
    subsegment.put_http_meta(http.URL, strip_url(params.url.human_repr()))
    inject_trace_header(params.headers, subsegment)


def _end(trace_config_ctx) -> None:  # type: ignore[no-untyped-def]
    trace_config_ctx.subsegment = None
    xray_recorder.end_subsegment()


async def end_subsegment(session, trace_config_ctx, params) -> None:  # type: ignore[no-untyped-def]
    if trace_config_ctx.give_up or trace_config_ctx.subsegment is None:
        return
    trace_config_ctx.subsegment.put_http_meta(http.STATUS, params.response.status)
    _end(trace_config_ctx)


async def end_subsegment_with_exception(session, trace_config_ctx, params) -> None:  # type: ignore[no-untyped-def]
    if trace_config_ctx.give_up or trace_config_ctx.subsegment is None:
        return
    subsegment = trace_config_ctx.subsegment
    subsegment.add_exception(params.exception, stacktrace.get_stacktrace(limit=xray_recorder.max_trace_back))
    if isinstance(params.exception, _local_exceptions()):
        subsegment.namespace = LOCAL_NAMESPACE
    _end(trace_config_ctx)


def aws_xray_trace_config(name=None):  # type: ignore[no-untyped-def]
    """An ``aiohttp.TraceConfig`` that records each request; ``name`` overrides the subsegment name."""
    import aiohttp

    def _trace_config_ctx_factory(trace_request_ctx):  # type: ignore[no-untyped-def]
        return SimpleNamespace(name=name, trace_request_ctx=trace_request_ctx, subsegment=None, give_up=True)

    trace_config = aiohttp.TraceConfig(trace_config_ctx_factory=_trace_config_ctx_factory)
    trace_config.on_request_start.append(begin_subsegment)
    trace_config.on_request_end.append(end_subsegment)
    trace_config.on_request_exception.append(end_subsegment_with_exception)
    return trace_config

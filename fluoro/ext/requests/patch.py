"""requests: every call is a ``remote`` subsegment named by the host, with the trace header sent."""

from __future__ import annotations

import functools

from ...core import xray_recorder
from ...core.models import http
from ..util import get_hostname, inject_trace_header, strip_url


@functools.lru_cache(maxsize=512)
def _host_and_url(url: str | None) -> tuple:
    """(subsegment name, recorded URL): applications call the same URLs over and over."""
    return get_hostname(url), strip_url(url)


def patch() -> None:
    import requests
    import wrapt

    if getattr(requests, "_fluoro_xray_enabled", False):
        return
    requests._fluoro_xray_enabled = True  # type: ignore[attr-defined]
    wrapt.wrap_function_wrapper("requests", "Session.request", _xray_traced_requests)
    wrapt.wrap_function_wrapper("requests", "Session.prepare_request", _inject_header)


def unpatch() -> None:
    import requests

    from ...core.patcher import _PATCHED_MODULES
    from ..util import unwrap

    _PATCHED_MODULES.discard("requests")
    unwrap(requests.Session, "request")
    unwrap(requests.Session, "prepare_request")
    requests._fluoro_xray_enabled = False  # type: ignore[attr-defined]


def _method_and_url(args, kwargs):  # type: ignore[no-untyped-def]
    method = kwargs.get("method") or (args[0] if args else None)
    url = kwargs.get("url") or (args[1] if len(args) > 1 else None)
    return method, (url.decode() if isinstance(url, bytes) else str(url) if url is not None else None)


def _xray_traced_requests(wrapped, instance, args, kwargs):  # type: ignore[no-untyped-def]
    _, url = _method_and_url(args, kwargs)
    return xray_recorder.record_subsegment(wrapped, instance, args, kwargs, name=_host_and_url(url)[0],
                                           namespace="remote", meta_processor=requests_processor)


def _inject_header(wrapped, instance, args, kwargs):  # type: ignore[no-untyped-def]
    """Add the trace header to the prepared request (never to the caller's own headers dict)."""
    prepared = wrapped(*args, **kwargs)
    try:
        entity = xray_recorder.current_subsegment()
    except Exception:  # context_missing=RUNTIME_ERROR already raised for the call
        entity = None
    if entity is not None and getattr(prepared, "headers", None) is not None:
        inject_trace_header(prepared.headers, entity)
    return prepared


def requests_processor(wrapped, instance, args, kwargs, return_value, exception, subsegment, stack):  # type: ignore[no-untyped-def]
    method, url = _method_and_url(args, kwargs)
    subsegment.put_http_meta(http.METHOD, method)
    subsegment.put_http_meta(http.URL, _host_and_url(url)[1])
    if return_value is not None:
        subsegment.put_http_meta(http.STATUS, return_value.status_code)
    elif exception is not None:
        subsegment.add_exception(exception, stack)

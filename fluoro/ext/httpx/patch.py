"""httpx (sync and async): every request is a ``remote`` subsegment named by the host.

The clients' transports are wrapped, so every request a client sends (redirects
included) is recorded with its method, URL (no password, query or fragment) and status,
and carries the trace header.
"""

from __future__ import annotations

from ...core import xray_recorder
from ...core.models import http
from ...core.utils import stacktrace
from ..util import get_hostname, inject_trace_header


def patch() -> None:
    import httpx

    if getattr(httpx, "_fluoro_xray_enabled", False):
        return
    httpx._fluoro_xray_enabled = True  # type: ignore[attr-defined]
    _originals[:] = [httpx.Client, httpx.AsyncClient, httpx._api.Client]  # type: ignore[attr-defined]
    sync_client, async_client = _instrumented_classes(httpx)
    httpx.Client = sync_client  # type: ignore[misc]
    httpx.AsyncClient = async_client  # type: ignore[misc]
    httpx._api.Client = sync_client  # type: ignore[attr-defined]


_originals: list = []


def unpatch() -> None:
    """Put httpx's own client classes back (clients already created stay traced)."""
    import httpx

    from ...core.patcher import _PATCHED_MODULES

    _PATCHED_MODULES.discard("httpx")
    if _originals:
        httpx.Client, httpx.AsyncClient, httpx._api.Client = _originals  # type: ignore[misc,attr-defined]
        _originals.clear()
    httpx._fluoro_xray_enabled = False  # type: ignore[attr-defined]


def _request_fields(subsegment, request) -> None:  # type: ignore[no-untyped-def]
    subsegment.put_http_meta(http.METHOD, request.method)
    subsegment.put_http_meta(http.URL, str(request.url.copy_with(password=None, query=None, fragment=None)))
    inject_trace_header(request.headers, subsegment)


def _failed(subsegment, exception: Exception) -> None:  # type: ignore[no-untyped-def]
    subsegment.add_exception(exception, stacktrace.get_stacktrace(limit=xray_recorder.max_trace_back))


def _instrumented_classes(httpx):  # type: ignore[no-untyped-def]
    class SyncInstrumentedTransport(httpx.BaseTransport):
        def __init__(self, transport) -> None:  # type: ignore[no-untyped-def]
            self._wrapped_transport = transport

        def handle_request(self, request):  # type: ignore[no-untyped-def]
            subsegment = xray_recorder.begin_subsegment(get_hostname(str(request.url)), "remote")
            if subsegment is None:
                return self._wrapped_transport.handle_request(request)
            try:
                _request_fields(subsegment, request)
                response = self._wrapped_transport.handle_request(request)
                subsegment.put_http_meta(http.STATUS, response.status_code)
                return response
            except Exception as exception:
                _failed(subsegment, exception)
                raise
            finally:
                xray_recorder.end_subsegment()

        def close(self) -> None:
            self._wrapped_transport.close()

    class AsyncInstrumentedTransport(httpx.AsyncBaseTransport):
        def __init__(self, transport) -> None:  # type: ignore[no-untyped-def]
            self._wrapped_transport = transport

        async def handle_async_request(self, request):  # type: ignore[no-untyped-def]
            subsegment = xray_recorder.begin_subsegment(get_hostname(str(request.url)), "remote")
            if subsegment is None:
                return await self._wrapped_transport.handle_async_request(request)
            try:
                _request_fields(subsegment, request)
                response = await self._wrapped_transport.handle_async_request(request)
                subsegment.put_http_meta(http.STATUS, response.status_code)
                return response
            except Exception as exception:
                _failed(subsegment, exception)
                raise
            finally:
                xray_recorder.end_subsegment()

        async def aclose(self) -> None:
            await self._wrapped_transport.aclose()

    class _InstrumentedClient(httpx.Client):
        def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
            super().__init__(*args, **kwargs)
            self._original_transport = self._transport
            self._transport = SyncInstrumentedTransport(self._transport)

    class _InstrumentedAsyncClient(httpx.AsyncClient):
        def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
            super().__init__(*args, **kwargs)
            self._original_transport = self._transport
            self._transport = AsyncInstrumentedTransport(self._transport)

    _InstrumentedClient.__name__ = _InstrumentedClient.__qualname__ = "Client"
    _InstrumentedAsyncClient.__name__ = _InstrumentedAsyncClient.__qualname__ = "AsyncClient"
    return _InstrumentedClient, _InstrumentedAsyncClient

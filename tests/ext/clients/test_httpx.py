"""httpx (sync and async) through the patcher against a real local HTTP server; upstream as the oracle."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from fluoro.core import patch
from fluoro.ext import httpx as httpx_patch

from ..oracle import assert_same, run_both, upstream_patched
from .conftest import closed_port_url


@pytest.fixture(autouse=True, scope="module")
def _patched():  # type: ignore[no-untyped-def]
    """Patched for this module only: other tests see the libraries as they are."""
    patch(("httpx",))
    yield
    httpx_patch.unpatch()
UPSTREAM_TARGETS = [("httpx", "Client"), ("httpx", "AsyncClient"), ("httpx._api", "Client")]


def _upstream():  # type: ignore[no-untyped-def]
    # Upstream subclasses whatever ``httpx.Client`` is when its module is first imported:
    # import it afresh over fluoro's classes, so each SDK records its own subsegments.
    import sys

    sys.modules.pop("aws_xray_sdk.ext.httpx.patch", None)
    sys.modules.pop("aws_xray_sdk.ext.httpx", None)
    return (httpx.Client, httpx.AsyncClient, httpx._api.Client)


def _restore(patched) -> None:  # type: ignore[no-untyped-def]
    httpx.Client, httpx.AsyncClient, httpx._api.Client = patched


def _scenario(base: str, refused: str):  # type: ignore[no-untyped-def]
    def scenario(rec) -> None:  # type: ignore[no-untyped-def]
        with rec.in_segment("app"):
            httpx.get(base + "/status/200?token=x#frag")
            with httpx.Client() as client:
                client.post(base.replace("http://", "http://user:pw@") + "/status/404", content=b"x")
                client.get(base + "/redirect", follow_redirects=True)
                try:
                    client.get(refused)
                except httpx.ConnectError:
                    pass

            async def calls() -> None:
                async with httpx.AsyncClient() as client:
                    await client.get(base + "/status/503")

            asyncio.run(calls())
    return scenario


def test_same_subsegments_as_upstream(recorders, http_server) -> None:  # type: ignore[no-untyped-def]
    patched = _upstream()
    try:
        with upstream_patched("httpx", UPSTREAM_TARGETS):
            upstream_classes = (httpx.Client, httpx.AsyncClient)
            result = run_both(recorders, _scenario(http_server.base_url, closed_port_url()))
    finally:
        _restore(patched)
    assert upstream_classes[0].__module__.startswith("aws_xray_sdk")
    assert_same(result)
    subs = result["fluoro"][0]["subsegments"]
    base = http_server.base_url
    assert [(s["name"], s["namespace"]) for s in subs] == [("127.0.0.1", "remote")] * 6
    assert subs[0]["http"] == {"request": {"method": "GET", "url": base + "/status/200"},
                               "response": {"status": 200}}
    assert subs[1]["http"]["request"]["url"] == base + "/status/404"  # credentials never recorded
    assert [s["http"].get("response", {}).get("status") for s in subs] == [200, 404, 302, 200, None, 503]
    assert subs[4]["fault"] is True and subs[4]["exceptions"][0][0] == "ConnectError"
    assert subs[5]["fault"] is True


def test_trace_header_sync_and_async(recorder, http_server) -> None:  # type: ignore[no-untyped-def]
    segment = recorder.begin_segment("app")
    httpx.get(http_server.base_url + "/status/200")
    sync_header = http_server.requests[-1][2]["X-Amzn-Trace-Id"]

    async def call() -> None:
        async with httpx.AsyncClient() as client:
            await client.get(http_server.base_url + "/status/200")

    asyncio.run(call())
    async_header = http_server.requests[-1][2]["X-Amzn-Trace-Id"]
    recorder.end_segment()
    first, second = recorder.captured.documents[0]["subsegments"]
    assert sync_header == "Root=%s;Parent=%s;Sampled=1" % (segment.trace_id, first["id"])
    assert async_header == "Root=%s;Parent=%s;Sampled=1" % (segment.trace_id, second["id"])


@pytest.mark.asyncio
async def test_concurrent_async_requests_each_own_subsegment(recorder, http_server) -> None:  # type: ignore[no-untyped-def]
    recorder.begin_segment("app")
    async with httpx.AsyncClient() as client:
        await asyncio.gather(*(client.get(http_server.base_url + "/status/%d" % code) for code in (200, 201, 202)))
    recorder.end_segment()
    subs = recorder.captured.documents[0]["subsegments"]
    assert sorted(s["http"]["response"]["status"] for s in subs) == [200, 201, 202]
    assert all("subsegments" not in s for s in subs)


def test_no_segment(recorder, http_server) -> None:  # type: ignore[no-untyped-def]
    recorder.configure(context_missing="LOG_ERROR")
    assert httpx.get(http_server.base_url + "/status/200").status_code == 200
    assert recorder.captured.documents == []

"""The aiohttp client trace config against a real local HTTP server; upstream as the oracle."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aws_xray_sdk.ext.aiohttp.client import aws_xray_trace_config as upstream_trace_config

from fluoro.ext.aiohttp.client import aws_xray_trace_config

from ..oracle import assert_same, shape
from .conftest import closed_port_url


async def _calls(rec, trace_config, base: str, refused: str) -> None:  # type: ignore[no-untyped-def]
    async with rec.in_segment_async("app"):
        async with aiohttp.ClientSession(trace_configs=[trace_config]) as session:
            async with session.get(base + "/status/200?q=1") as response:
                await response.read()
            async with session.post(base + "/status/500", data=b"x") as response:
                await response.read()
            try:
                async with session.get(refused) as response:
                    pass
            except aiohttp.ClientConnectionError:
                pass


def test_same_subsegments_as_upstream(recorders, http_server) -> None:  # type: ignore[no-untyped-def]
    refused = closed_port_url()
    configs = {"upstream": upstream_trace_config, "fluoro": aws_xray_trace_config}
    result = {}
    for sdk, rec in recorders.items():
        asyncio.run(_calls(rec, configs[sdk](), http_server.base_url, refused))
        result[sdk] = [shape(d) for d in rec.emitter.documents]
    assert_same(result)
    ok, failed, refused_sub = result["fluoro"][0]["subsegments"]
    assert ok["name"] == "127.0.0.1" and ok["namespace"] == "remote"
    assert ok["http"] == {"request": {"method": "GET", "url": http_server.base_url + "/status/200"},
                          "response": {"status": 200}}
    assert failed["fault"] is True
    assert refused_sub["namespace"] == "local" and refused_sub["fault"] is True


@pytest.mark.asyncio
async def test_name_override_and_header(recorder, http_server) -> None:  # type: ignore[no-untyped-def]
    segment = recorder.begin_segment("app")
    async with aiohttp.ClientSession(trace_configs=[aws_xray_trace_config(name="backend")]) as session:
        async with session.get(http_server.base_url + "/status/200") as response:
            assert response.status == 200
    recorder.end_segment()
    (sub,) = recorder.captured.documents[0]["subsegments"]
    assert sub["name"] == "backend"
    assert http_server.requests[-1][2]["X-Amzn-Trace-Id"] == "Root=%s;Parent=%s;Sampled=1" % (
        segment.trace_id, sub["id"])


@pytest.mark.asyncio
async def test_no_segment_gives_up_quietly(recorder, http_server) -> None:  # type: ignore[no-untyped-def]
    recorder.configure(context_missing="LOG_ERROR")
    async with aiohttp.ClientSession(trace_configs=[aws_xray_trace_config()]) as session:
        async with session.get(http_server.base_url + "/status/200") as response:
            assert response.status == 200
    assert recorder.captured.documents == []


@pytest.mark.asyncio
async def test_no_segment_raises_when_runtime_error_is_asked(recorder, http_server) -> None:  # type: ignore[no-untyped-def]
    """``context_missing="RUNTIME_ERROR"`` is the one case where a missing segment reaches
    the caller: the request is not sent and ``SegmentNotFoundException`` is raised."""
    from fluoro.core.exceptions.exceptions import SegmentNotFoundException

    recorder.configure(context_missing="RUNTIME_ERROR")
    sent_before = len(http_server.requests)
    async with aiohttp.ClientSession(trace_configs=[aws_xray_trace_config()]) as session:
        with pytest.raises(SegmentNotFoundException):
            async with session.get(http_server.base_url + "/status/200"):
                pass
    assert len(http_server.requests) == sent_before
    assert recorder.captured.documents == []

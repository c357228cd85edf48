"""aiohttp server middleware over aiohttp's real test server (loopback, free port), and the
same requests through aws-xray-sdk's middleware."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web

from fluoro.ext.aiohttp.middleware import middleware

from .conftest import PARENT_ID, TRACE_ID, compare


def make_app(mw: Any, recorder: Any) -> web.Application:
    async def item(request: web.Request) -> web.Response:
        async with recorder.in_subsegment_async("load_item") as sub:
            sub.put_annotation("item_id", request.match_info["item_id"])
            await asyncio.sleep(0)
        return web.json_response({"id": request.match_info["item_id"]})

    async def fail(request: web.Request) -> web.Response:
        raise ValueError("no stock")

    async def missing(request: web.Request) -> web.Response:
        raise web.HTTPNotFound()

    async def stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        for chunk in (b"a", b"bc"):
            await response.write(chunk)
        return response

    app = web.Application(middlewares=[mw])
    app.router.add_get("/items/{item_id}", item)
    app.router.add_get("/fail", fail)
    app.router.add_get("/missing", missing)
    app.router.add_get("/stream", stream)
    return app


REQUESTS = [
    ("/items/7?q=1", {"User-Agent": "tests/1.0"}),
    ("/items/8", {"X-Amzn-Trace-Id": "Root=%s;Parent=%s;Sampled=1" % (TRACE_ID, PARENT_ID),
                  "X-Forwarded-For": "203.0.113.9"}),
    ("/fail", {}),
    ("/missing", {}),
    ("/items/9", {"X-Amzn-Trace-Id": "Root=%s;Sampled=?" % TRACE_ID}),
]


async def _run(client: Any, requests: list = REQUESTS) -> list:
    out = []
    for path, headers in requests:
        response = await client.get(path, headers=headers)
        await response.read()
        out.append((response.status, response.headers.get("X-Amzn-Trace-Id")))
    return out


def _host_independent(docs: list, port: int) -> list:
    """The two servers listen on different ports: compare the URLs without it."""
    for doc in docs:
        request = doc["http"]["request"]
        request["url"] = request["url"].replace(":%d" % port, ":<port>")
    return docs


async def test_same_documents_as_upstream(aiohttp_client, recorder, upstream_recorder) -> None:  # type: ignore[no-untyped-def]
    from aws_xray_sdk.ext.aiohttp.middleware import middleware as upstream_middleware

    up_client = await aiohttp_client(make_app(upstream_middleware, upstream_recorder))
    fl_client = await aiohttp_client(make_app(middleware, recorder))
    up = await _run(up_client)
    fl = await _run(fl_client)
    assert [s for s, _ in fl] == [s for s, _ in up] == [200, 200, 500, 404, 200]
    assert [h for _, h in fl][1] == "Root=%s" % TRACE_ID and [h for _, h in fl][4] == "Root=%s;Sampled=1" % TRACE_ID
    fluoro_docs, upstream_docs, stacks = compare(
        _host_independent(recorder.captured.documents, fl_client.port),
        _host_independent(upstream_recorder.captured.documents, up_client.port))
    assert fluoro_docs == upstream_docs
    ((fl_stack, up_stack),) = stacks
    assert fl_stack[-1]["label"] == up_stack[-1]["label"] == "fail"
    ok = recorder.captured.documents[0]
    assert ok["http"]["request"]["client_ip"] == "127.0.0.1"
    assert ok["subsegments"][0]["annotations"] == {"item_id": "7"}


async def test_streamed_response_and_traceparent(aiohttp_client, recorder) -> None:  # type: ignore[no-untyped-def]
    client = await aiohttp_client(make_app(middleware, recorder))
    response = await client.get("/stream", headers={"traceparent": "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01"})
    assert await response.read() == b"abc"
    (doc,) = recorder.captured.documents
    assert (doc["trace_id"], doc["parent_id"]) == (TRACE_ID, PARENT_ID)
    assert doc["http"]["response"]["status"] == 200


async def test_concurrent_requests_stay_apart(aiohttp_client, recorder) -> None:  # type: ignore[no-untyped-def]
    client = await aiohttp_client(make_app(middleware, recorder))

    async def get(i: int) -> int:
        response = await client.get("/items/%d" % i)
        await response.read()
        return response.status

    assert await asyncio.gather(*(get(i) for i in range(20))) == [200] * 20
    docs = recorder.captured.documents
    assert sorted(d["subsegments"][0]["annotations"]["item_id"] for d in docs) == sorted(str(i) for i in range(20))
    assert all(d["http"]["request"]["url"].endswith("/items/" + d["subsegments"][0]["annotations"]["item_id"])
               for d in docs)


async def test_cancelled_request_is_a_fault(recorder) -> None:  # type: ignore[no-untyped-def]
    from aiohttp.test_utils import make_mocked_request

    async def slow(request: web.Request) -> web.Response:
        raise asyncio.CancelledError()

    with pytest.raises(asyncio.CancelledError):
        await middleware(make_mocked_request("GET", "/slow", headers={"Host": "h:81"}), slow)
    (doc,) = recorder.captured.documents
    assert doc["fault"] is True and doc["cause"]["exceptions"][0]["type"] == "CancelledError"


async def test_lambda_mode(aiohttp_client, recorder, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from fluoro.core.lambda_launcher import LambdaContext

    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(tmp_path))
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=%s;Parent=%s;Sampled=1" % (TRACE_ID, PARENT_ID))
    recorder.configure(context=LambdaContext(), streaming_threshold=0)
    client = await aiohttp_client(make_app(middleware, recorder))
    response = await client.get("/items/1")
    assert response.status == 200
    docs = recorder.captured.documents
    assert [d["name"] for d in docs] == ["load_item", "test"]
    assert docs[-1]["type"] == "subsegment" and docs[-1]["parent_id"] == PARENT_ID

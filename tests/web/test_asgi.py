"""The ASGI middleware with Starlette and FastAPI: test clients, route templates, streaming
responses, background tasks, and a real uvicorn server."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import BackgroundTasks, FastAPI, HTTPException
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from fluoro.ext.asgi import XRayMiddleware

from .conftest import PARENT_ID, TRACE_ID

TRACEPARENT = "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01"


def starlette_app(recorder: Any, **options: Any) -> Starlette:
    async def item(request: Any) -> JSONResponse:
        async with recorder.in_subsegment_async("load_item"):
            await asyncio.sleep(0)
        return JSONResponse({"id": request.path_params["item_id"]})

    async def fail(request: Any) -> JSONResponse:
        raise ValueError("no stock")

    async def stream(request: Any) -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            for i in range(3):
                async with recorder.in_subsegment_async("chunk%d" % i):
                    yield b"x" * (i + 1)
        return StreamingResponse(chunks(), media_type="text/plain")

    async def broken_stream(request: Any) -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"a"
            raise RuntimeError("mid-stream")
        return StreamingResponse(chunks())

    async def sync_stream(request: Any) -> StreamingResponse:
        def chunks() -> Iterator[bytes]:
            # Starlette runs each next() of a sync generator in a worker thread with a copy of
            # the context, so a subsegment must not stay open across a yield.
            with recorder.in_subsegment("sync_chunk"):
                data = b"sync"
            yield data
        return StreamingResponse(chunks())

    def send_email(to: str) -> None:
        time.sleep(0.01)
        with recorder.in_subsegment("smtp"):
            pass

    async def background(request: Any) -> PlainTextResponse:
        return PlainTextResponse("queued", background=BackgroundTask(send_email, "a@example.com"))

    routes = [
        Route("/items/{item_id}", item),
        Route("/fail", fail),
        Route("/stream", stream),
        Route("/broken-stream", broken_stream),
        Route("/sync-stream", sync_stream),
        Route("/background", background, methods=["POST"]),
        Mount("/api", routes=[Route("/orders/{order_id:int}", lambda request: PlainTextResponse("order"))]),
    ]
    app = Starlette(routes=routes)
    app.add_middleware(XRayMiddleware, recorder=recorder, **options)
    return app


def fastapi_app(recorder: Any, **options: Any) -> FastAPI:
    app = FastAPI()

    def audit(user_id: int) -> None:
        with recorder.in_subsegment("write_audit") as sub:
            sub.put_annotation("user_id", user_id)

    async def notify(user_id: int) -> None:
        async with recorder.in_subsegment_async("notify"):
            await asyncio.sleep(0)

    @app.get("/users/{user_id}")
    async def get_user(user_id: int, tasks: BackgroundTasks) -> dict:
        if user_id == 0:
            raise HTTPException(status_code=404, detail="no such user")
        tasks.add_task(audit, user_id)
        tasks.add_task(notify, user_id)
        return {"id": user_id}

    @app.get("/export")
    def export() -> StreamingResponse:
        def rows() -> Iterator[bytes]:
            for i in range(2):
                yield b"row%d\n" % i
        return StreamingResponse(rows(), media_type="text/csv")

    app.add_middleware(XRayMiddleware, recorder=recorder, **options)
    return app


def test_request_fields_and_response_header(recorder) -> None:  # type: ignore[no-untyped-def]
    with TestClient(starlette_app(recorder), base_url="http://shop.local:8000") as client:
        response = client.get("/items/7?q=1", headers={
            "User-Agent": "tests/1.0", "X-Forwarded-For": "203.0.113.9",
            "X-Amzn-Trace-Id": "Root=%s;Parent=%s;Sampled=?" % (TRACE_ID, PARENT_ID)})
    assert response.status_code == 200
    assert response.headers["X-Amzn-Trace-Id"] == "Root=%s;Sampled=1" % TRACE_ID
    (doc,) = recorder.captured.documents
    assert (doc["name"], doc["trace_id"], doc["parent_id"]) == ("test", TRACE_ID, PARENT_ID)
    assert doc["http"] == {
        "request": {"url": "http://shop.local:8000/items/7?q=1", "method": "GET", "user_agent": "tests/1.0",
                    "client_ip": "203.0.113.9", "x_forwarded_for": True},
        "response": {"status": 200, "content_length": len(b'{"id":"7"}')}}
    assert [s["name"] for s in doc["subsegments"]] == ["load_item"]


def test_exceptions_are_faults_with_stacks(recorder) -> None:  # type: ignore[no-untyped-def]
    with TestClient(starlette_app(recorder), raise_server_exceptions=False) as client:
        assert client.get("/fail").status_code == 500
        assert client.get("/nowhere").status_code == 404
    failed, missing = recorder.captured.documents
    assert failed["fault"] is True and failed["http"]["response"]["status"] == 500
    (exc,) = failed["cause"]["exceptions"]
    assert (exc["type"], exc["message"]) == ("ValueError", "no stock")
    assert exc["stack"][-1]["label"] == "fail" and exc["stack"][-1]["path"] == "test_asgi.py"
    assert missing["error"] is True and "fault" not in missing


def test_outermost_wrapping_answers_500s_with_the_header(recorder) -> None:  # type: ignore[no-untyped-def]
    inner = starlette_app(recorder)
    inner.user_middleware.clear()  # wrapped from the outside instead
    with TestClient(XRayMiddleware(inner, recorder), raise_server_exceptions=False) as client:
        response = client.get("/fail")
    assert response.status_code == 500 and response.headers["X-Amzn-Trace-Id"].startswith("Root=1-")
    (doc,) = recorder.captured.documents
    assert doc["fault"] is True and doc["http"]["response"]["status"] == 500
    assert doc["cause"]["exceptions"][0]["message"] == "no stock"


def test_streaming_response_is_inside_the_segment(recorder) -> None:  # type: ignore[no-untyped-def]
    with TestClient(starlette_app(recorder), raise_server_exceptions=False) as client:
        assert client.get("/stream").text == "xxxxxx"
        assert client.get("/sync-stream").text == "sync"
        client.get("/broken-stream")
    streamed, sync_streamed, broken = recorder.captured.documents
    assert [s["name"] for s in streamed["subsegments"]] == ["chunk0", "chunk1", "chunk2"]
    assert streamed["http"]["response"] == {"status": 200, "content_length": 6}  # counted, no header
    assert all(s["end_time"] <= streamed["end_time"] for s in streamed["subsegments"])
    assert [s["name"] for s in sync_streamed["subsegments"]] == ["sync_chunk"]
    assert broken["fault"] is True and broken["http"]["response"]["status"] == 200
    assert broken["cause"]["exceptions"][0]["message"] == "mid-stream"


def test_background_task_is_traced_under_the_request(recorder) -> None:  # type: ignore[no-untyped-def]
    with TestClient(starlette_app(recorder)) as client:
        response = client.post("/background")
    assert response.text == "queued"
    (doc,) = recorder.captured.documents
    (task,) = doc["subsegments"]
    assert task["name"] == "background:send_email"
    assert [s["name"] for s in task["subsegments"]] == ["smtp"]
    # The segment ends when the response is complete; the task runs after it.
    assert task["start_time"] >= doc["end_time"] and task["end_time"] > doc["end_time"]


def test_failing_background_task_is_a_fault_of_its_own_subsegment(recorder) -> None:  # type: ignore[no-untyped-def]
    def crash() -> None:
        raise OSError("smtp down")

    async def endpoint(request: Any) -> PlainTextResponse:
        return PlainTextResponse("queued", background=BackgroundTask(crash))

    app = Starlette(routes=[Route("/", endpoint)])
    app.add_middleware(XRayMiddleware, recorder=recorder)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/").text == "queued"
    (doc,) = recorder.captured.documents
    (task,) = doc["subsegments"]
    assert task["name"] == "background:crash" and task["fault"] is True
    assert task["cause"]["exceptions"][0]["message"] == "smtp down"
    # The client got its 200: the request itself is not a fault.
    assert "fault" not in doc and doc["http"]["response"]["status"] == 200


def test_route_template_as_segment_name(recorder) -> None:  # type: ignore[no-untyped-def]
    with TestClient(starlette_app(recorder, segment_name="route")) as client:
        client.get("/items/7")
        client.get("/api/orders/12")
        client.get("/nowhere")
    assert [d["name"] for d in recorder.captured.documents] == [
        "GET /items/{item_id}", "GET /api/orders/{order_id}", "test"]
    with pytest.raises(ValueError, match="segment_name"):
        XRayMiddleware(starlette_app(recorder), segment_name="url")


def test_segment_name_function(recorder) -> None:  # type: ignore[no-untyped-def]
    def by_first_path_part(scope: dict) -> Any:
        if scope["path"] == "/fail":
            raise RuntimeError("naming bug")
        return "shop-" + scope["path"].split("/")[1] if scope["path"].startswith("/items") else None

    with TestClient(starlette_app(recorder, segment_name=by_first_path_part), raise_server_exceptions=False) as client:
        client.get("/items/7")
        client.get("/stream")
        client.get("/fail")
    assert [d["name"] for d in recorder.captured.documents] == ["shop-items", "test", "test"]


def test_fastapi_route_template_background_tasks_and_streaming(recorder) -> None:  # type: ignore[no-untyped-def]
    with TestClient(fastapi_app(recorder, segment_name="route")) as client:
        assert client.get("/users/5", headers={"traceparent": TRACEPARENT}).json() == {"id": 5}
        assert client.get("/users/0").status_code == 404
        assert client.get("/export").text == "row0\nrow1\n"
    user, missing, export = recorder.captured.documents
    assert user["name"] == "GET /users/{user_id}"
    assert (user["trace_id"], user["parent_id"]) == (TRACE_ID, PARENT_ID)
    assert [s["name"] for s in user["subsegments"]] == ["background:audit", "background:notify"]
    assert user["subsegments"][0]["subsegments"][0]["annotations"] == {"user_id": 5}
    assert missing["name"] == "GET /users/{user_id}" and missing["error"] is True
    assert export["name"] == "GET /export" and export["http"]["response"]["content_length"] == 10


def test_unsampled_and_sampler_request(recorder) -> None:  # type: ignore[no-untyped-def]
    seen = []

    class Sampler:
        def should_trace(self, sampling_req: dict) -> Any:
            seen.append(sampling_req)
            return sampling_req["method"] == "GET"

    recorder.configure(sampling=True, sampler=Sampler())
    with TestClient(starlette_app(recorder), base_url="http://api.local") as client:
        client.post("/background")
        client.get("/items/1")
        response = client.get("/items/2", headers={"X-Amzn-Trace-Id": "Root=%s;Sampled=0" % TRACE_ID})
    assert response.headers["X-Amzn-Trace-Id"] == "Root=%s" % TRACE_ID
    assert seen == [{"host": "api.local", "method": "POST", "path": "/background", "service": "test"},
                    {"host": "api.local", "method": "GET", "path": "/items/1", "service": "test"}]
    assert [d["http"]["request"]["url"] for d in recorder.captured.documents] == ["http://api.local/items/1"]


def test_dynamic_naming(recorder) -> None:  # type: ignore[no-untyped-def]
    recorder.configure(dynamic_naming="*.example.com")
    with TestClient(starlette_app(recorder), base_url="http://api.example.com:8443") as client:
        client.get("/items/1")
    assert recorder.captured.documents[0]["name"] == "api.example.com"


def test_lifespan_and_websocket_pass_through(recorder) -> None:  # type: ignore[no-untyped-def]
    from starlette.routing import WebSocketRoute

    async def echo(websocket: Any) -> None:
        await websocket.accept()
        await websocket.send_text(await websocket.receive_text())
        await websocket.close()

    app = starlette_app(recorder)
    app.router.routes.append(WebSocketRoute("/ws", echo))
    with TestClient(app) as client, client.websocket_connect("/ws") as ws:
        ws.send_text("hi")
        assert ws.receive_text() == "hi"
    assert recorder.captured.documents == []


def test_lambda_mode(recorder, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from fluoro.core.lambda_launcher import LambdaContext

    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(tmp_path))
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=%s;Parent=%s;Sampled=1" % (TRACE_ID, PARENT_ID))
    recorder.configure(context=LambdaContext(), streaming_threshold=0)
    with TestClient(starlette_app(recorder)) as client:
        assert client.get("/items/3").status_code == 200
    docs = recorder.captured.documents
    assert [d["name"] for d in docs] == ["load_item", "test"]
    assert docs[-1]["type"] == "subsegment" and docs[-1]["parent_id"] == PARENT_ID
    assert docs[-1]["http"]["response"]["status"] == 200


class UvicornServer:
    """uvicorn serving an app from a thread on a socket bound to a free loopback port."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = "http://127.0.0.1:%d" % self.sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> UvicornServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


def test_over_a_real_uvicorn_server(recorder) -> None:  # type: ignore[no-untyped-def]
    with UvicornServer(fastapi_app(recorder, segment_name="route")) as server, httpx.Client() as client:
        user = client.get(server.url + "/users/3", headers={"X-Amzn-Trace-Id": "Root=%s;Parent=%s;Sampled=1" % (TRACE_ID, PARENT_ID)})
        export = client.get(server.url + "/export")
        deadline = time.monotonic() + 5
        while len(recorder.captured.documents) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)  # the background tasks run after the response was received
    assert user.json() == {"id": 3} and user.headers["X-Amzn-Trace-Id"] == "Root=%s" % TRACE_ID
    assert export.text == "row0\nrow1\n"
    by_name = {d["name"]: d for d in recorder.captured.documents}
    user_doc = by_name["GET /users/{user_id}"]
    assert (user_doc["trace_id"], user_doc["parent_id"]) == (TRACE_ID, PARENT_ID)
    assert user_doc["http"]["request"]["url"] == server.url + "/users/3"
    assert user_doc["http"]["request"]["client_ip"] == "127.0.0.1"
    assert [s["name"] for s in user_doc["subsegments"]] == ["background:audit", "background:notify"]
    assert by_name["GET /export"]["http"]["response"]["content_length"] == 10


def test_local_sampling_rules_see_host_method_and_path(recorder) -> None:  # type: ignore[no-untyped-def]
    from fluoro.core.sampling.local.sampler import LocalSampler

    rules = {"version": 2, "default": {"fixed_target": 1, "rate": 1.0}, "rules": [
        {"description": "no health checks", "host": "*", "http_method": "GET", "url_path": "/items/0*",
         "fixed_target": 0, "rate": 0.0},
        {"description": "no admin host", "host": "admin.local*", "http_method": "*", "url_path": "*",
         "fixed_target": 0, "rate": 0.0}]}
    recorder.configure(sampling=True, sampler=LocalSampler(rules))
    with TestClient(starlette_app(recorder), base_url="http://shop.local") as client:
        for path in ("/items/0", "/items/1", "/items/02"):
            assert client.get(path).status_code == 200
        assert client.get("/items/3", headers={"Host": "admin.local:9000"}).status_code == 200
        assert client.get("/items/0", headers={"X-Amzn-Trace-Id": "Root=%s;Sampled=1" % TRACE_ID}).status_code == 200
    # Rules matched on path and host; an incoming Sampled=1 overrides them.
    assert [d["http"]["request"]["url"] for d in recorder.captured.documents] == [
        "http://shop.local/items/1", "http://shop.local/items/0"]


async def test_concurrent_requests_stay_apart(recorder) -> None:  # type: ignore[no-untyped-def]
    app = starlette_app(recorder)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://shop.local") as client:
        responses = await asyncio.gather(*(client.get("/items/%d" % i) for i in range(25)))
    assert [r.json()["id"] for r in responses] == [str(i) for i in range(25)]
    docs = recorder.captured.documents
    assert sorted(d["http"]["request"]["url"] for d in docs) == sorted("http://shop.local/items/%d" % i for i in range(25))
    assert all([s["name"] for s in d["subsegments"]] == ["load_item"] for d in docs)
    assert len({d["trace_id"] for d in docs}) == 25

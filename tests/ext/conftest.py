"""A capturing recorder and a real local AWS endpoint (moto in server mode) for patcher tests."""

from __future__ import annotations

import socket

import pytest

from fluoro.core import xray_recorder
from fluoro.core.context import Context
from fluoro.core.emitters.memory import InMemoryEmitter


@pytest.fixture
def recorder():  # type: ignore[no-untyped-def]
    emitter = InMemoryEmitter()
    saved = (xray_recorder.emitter, xray_recorder.context, xray_recorder.sampling, xray_recorder.service)
    xray_recorder.configure(emitter=emitter, context=Context(), sampling=False, service="test")
    xray_recorder.captured = emitter  # type: ignore[attr-defined]
    yield xray_recorder
    xray_recorder.clear_trace_entities()
    xray_recorder.emitter, xray_recorder.context, xray_recorder.sampling, xray_recorder.service = saved


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def aws_endpoint():  # type: ignore[no-untyped-def]
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield "http://127.0.0.1:%d" % port
    server.stop()


@pytest.fixture(autouse=True)
def aws_env(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)

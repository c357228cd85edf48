"""The UDP emitter on a real loopback socket: wire format and the 64 KB limit."""

from __future__ import annotations

import json
import logging
import socket

import pytest

from fluoro.core.async_recorder import AsyncAWSXRayRecorder
from fluoro.core.context import Context
from fluoro.core.emitters.udp_emitter import UDPEmitter
from fluoro.core.sampling.local.sampler import LocalSampler

HEADER = b'{"format":"json","version":1}\n'


@pytest.fixture
def daemon():  # type: ignore[no-untyped-def]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(2)
    yield sock
    sock.close()


def _receive_all(sock) -> list:  # type: ignore[no-untyped-def]
    out = []
    sock.settimeout(0.3)
    while True:
        try:
            out.append(sock.recv(70000))
        except socket.timeout:
            return out


@pytest.fixture
def recorder(daemon):  # type: ignore[no-untyped-def]
    rec = AsyncAWSXRayRecorder()
    rec.configure(emitter=UDPEmitter("127.0.0.1:%d" % daemon.getsockname()[1]), context=Context(),
                  sampler=LocalSampler(), sampling=False, service="svc", streaming_threshold=1000)
    return rec


def test_datagram_is_header_line_then_document(recorder, daemon) -> None:  # type: ignore[no-untyped-def]
    segment = recorder.begin_segment("seg")
    recorder.end_segment()
    data = daemon.recv(70000)
    assert data.startswith(HEADER)
    doc = json.loads(data[len(HEADER):])
    assert doc["id"] == segment.id and doc["name"] == "seg"


def test_large_segment_is_split_into_standalone_subsegments(recorder, daemon) -> None:  # type: ignore[no-untyped-def]
    segment = recorder.begin_segment("big")
    for i in range(200):
        sub = recorder.begin_subsegment("s%d" % i)
        sub.put_metadata("blob", "x" * 2000)
        recorder.end_subsegment()
    recorder.end_segment()
    datagrams = _receive_all(daemon)
    assert len(datagrams) > 1
    assert all(len(d) <= 65507 for d in datagrams)
    docs = [json.loads(d[len(HEADER):]) for d in datagrams]
    names = set()
    for doc in docs:
        if doc["id"] == segment.id:
            names.update(s["name"] for s in doc.get("subsegments", []))
        else:
            assert doc["type"] == "subsegment" and doc["parent_id"] == segment.id
            assert doc["trace_id"] == segment.trace_id
            names.add(doc["name"])
    assert names == {"s%d" % i for i in range(200)}


def test_entity_too_large_alone_is_truncated_and_marked(recorder, daemon, caplog) -> None:  # type: ignore[no-untyped-def]
    recorder.begin_segment("seg")
    sub = recorder.begin_subsegment("huge")
    sub.put_metadata("blob", "y" * 100_000)
    sub.put_annotation("kept", "yes")
    recorder.end_subsegment()
    with caplog.at_level(logging.WARNING):
        recorder.end_segment()
    docs = [json.loads(d[len(HEADER):]) for d in _receive_all(daemon)]
    huge = next(d for d in docs if d["name"] == "huge")
    assert huge["metadata"]["fluoro"]["truncated"]["metadata_removed"] == ["default"]
    assert huge["annotations"] == {"kept": "yes"}
    assert "datagram limit" in caplog.text


def test_send_failures_warn_once_and_never_raise(recorder, monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    def refuse(data: bytes) -> None:
        raise OSError("network unreachable")

    monkeypatch.setattr(recorder.emitter, "_send_data", refuse)
    with caplog.at_level(logging.WARNING, logger="fluoro.core.emitters.udp_emitter"):
        for _ in range(3):
            recorder.begin_segment("seg")
            recorder.end_segment()
    assert [r.levelno for r in caplog.records].count(logging.WARNING) == 1

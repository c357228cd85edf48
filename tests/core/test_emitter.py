"""The UDP emitter against a real loopback socket: wire format, the 64 KB datagram
limit (split into standalone subsegments, or truncated and marked), failing sockets."""

from __future__ import annotations

import json
import logging
import socket
import threading

import pytest

from fluoro.core import xray_recorder
from fluoro.core.context import Context
from fluoro.core.emitters.udp_emitter import UDPEmitter

HEADER = b'{"format":"json","version":1}\n'
MAX_UDP_PAYLOAD = 65507


class Daemon:
    """A UDP socket on 127.0.0.1 with a thread draining it, so nothing is dropped."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.datagrams: list = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.datagrams.append(self.sock.recv(70000))
            except socket.timeout:
                continue
            except OSError:
                return

    def wait_quiet(self, quiet: float = 0.3, timeout: float = 5.0) -> list:
        """All datagrams received once nothing new has arrived for ``quiet`` seconds."""
        import time

        deadline = time.monotonic() + timeout
        seen, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            if len(self.datagrams) != seen:
                seen, since = len(self.datagrams), time.monotonic()
            elif time.monotonic() - since >= quiet:
                break
            time.sleep(0.02)
        return list(self.datagrams)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@pytest.fixture
def daemon():  # type: ignore[no-untyped-def]
    d = Daemon()
    yield d
    d.close()


@pytest.fixture
def recorder(daemon, monkeypatch):  # type: ignore[no-untyped-def]
    """The global recorder sending to the test daemon; restored afterwards."""
    monkeypatch.delenv("AWS_XRAY_DAEMON_ADDRESS", raising=False)
    saved = dict(vars(xray_recorder)), xray_recorder.streaming_threshold
    xray_recorder.configure(sampling=False, context=Context(), emitter=UDPEmitter("127.0.0.1:%d" % daemon.port),
                            service="test", streaming_threshold=1000)
    yield xray_recorder
    xray_recorder.clear_trace_entities()
    xray_recorder.__dict__.clear()
    xray_recorder.__dict__.update(saved[0])
    xray_recorder.streaming_threshold = saved[1]


def _decode(datagram: bytes) -> dict:
    assert datagram.startswith(HEADER)
    body = datagram[len(HEADER):]
    assert b"\n" not in body  # exactly one header line, then one document
    return json.loads(body)


def test_emitter_address(daemon, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("AWS_XRAY_DAEMON_ADDRESS", raising=False)
    emitter = UDPEmitter("127.0.0.1:%d" % daemon.port)
    assert (emitter.ip, int(emitter.port)) == ("127.0.0.1", daemon.port)
    emitter.set_daemon_address("10.1.2.3:2001")
    assert (emitter.ip, int(emitter.port)) == ("10.1.2.3", 2001)


def test_datagram_is_header_line_then_document(recorder, daemon) -> None:  # type: ignore[no-untyped-def]
    segment = recorder.begin_segment("seg")
    recorder.put_annotation("k", "v")
    recorder.end_segment()
    (datagram,) = daemon.wait_quiet()
    assert datagram[:len(HEADER)] == b'{"format":"json","version":1}\n'
    doc = _decode(datagram)
    assert (doc["id"], doc["name"], doc["trace_id"]) == (segment.id, "seg", segment.trace_id)
    assert doc["annotations"] == {"k": "v"} and doc["in_progress"] is False
    assert json.loads(datagram.split(b"\n", 1)[0]) == {"format": "json", "version": 1}


def test_one_datagram_per_entity(recorder, daemon) -> None:  # type: ignore[no-untyped-def]
    for name in ("a", "b", "c"):
        recorder.begin_segment(name)
        recorder.end_segment()
    assert sorted(_decode(d)["name"] for d in daemon.wait_quiet()) == ["a", "b", "c"]


def test_large_segment_is_split_into_standalone_subsegments(recorder, daemon) -> None:  # type: ignore[no-untyped-def]
    segment = recorder.begin_segment("big")
    for i in range(200):
        sub = recorder.begin_subsegment("s%03d" % i)
        sub.put_metadata("blob", ("%03d" % i) * 700)  # ~2 KB each
        recorder.end_subsegment()
    recorder.end_segment()
    datagrams = daemon.wait_quiet()
    assert len(datagrams) > 1
    assert max(len(d) for d in datagrams) <= MAX_UDP_PAYLOAD
    docs = [_decode(d) for d in datagrams]
    (seg_doc,) = [d for d in docs if d["id"] == segment.id]
    assert seg_doc["name"] == "big" and "type" not in seg_doc
    received: dict = {s["name"]: s for s in seg_doc.get("subsegments", [])}
    for doc in docs:
        if doc is seg_doc:
            continue
        assert doc["type"] == "subsegment"
        assert doc["parent_id"] == segment.id and doc["trace_id"] == segment.trace_id
        assert doc["name"] not in received
        received[doc["name"]] = doc
    assert sorted(received) == ["s%03d" % i for i in range(200)]
    for name, sub in received.items():
        assert sub["metadata"] == {"default": {"blob": name[1:] * 700}}  # nothing truncated
        assert sub["parent_id"] == segment.id
    assert "truncated" not in json.dumps(docs)


def test_single_oversized_subsegment_is_truncated_and_marked(recorder, daemon, caplog) -> None:  # type: ignore[no-untyped-def]
    segment = recorder.begin_segment("seg")
    sub = recorder.begin_subsegment("huge")
    sub.put_metadata("blob", "y" * 100_000)
    sub.put_annotation("kept", "yes")
    recorder.end_subsegment()
    with caplog.at_level(logging.WARNING):
        recorder.end_segment()
    datagrams = daemon.wait_quiet()
    assert all(len(d) <= 64 * 1024 for d in datagrams)
    docs = {d["name"]: d for d in map(_decode, datagrams)}
    assert set(docs) == {"seg", "huge"}
    huge = docs["huge"]
    assert (huge["id"], huge["parent_id"], huge["type"]) == (sub.id, segment.id, "subsegment")
    marks = huge["metadata"]["fluoro"]["truncated"]
    assert marks["metadata_removed"] == ["default"] and marks["original_bytes"] > 100_000
    assert "default" not in huge["metadata"]
    assert huge["annotations"] == {"kept": "yes"}
    assert "subsegments" not in docs["seg"]
    assert "over the %d byte datagram limit" % (63 * 1024) in caplog.text


def test_failing_socket_warns_once_then_debug_and_never_raises(recorder, monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    calls: list = []

    def refuse(data: bytes) -> None:
        calls.append(data)
        raise OSError(101, "Network is unreachable")

    monkeypatch.setattr(recorder.emitter, "_send_data", refuse)
    logger = "fluoro.core.emitters.udp_emitter"
    with caplog.at_level(logging.DEBUG, logger=logger):
        for _ in range(5):
            recorder.begin_segment("seg")
            recorder.end_segment()
    assert len(calls) == 5
    records = [r for r in caplog.records if r.name == logger]
    assert [r.levelno for r in records] == [logging.WARNING] + [logging.DEBUG] * 4
    assert "Failed to send entity to Daemon" in records[0].getMessage()
    recorder.configure(context_missing="IGNORE_ERROR")
    assert recorder.get_trace_entity() is None  # the segment was cleared all the same


def test_failure_warns_again_after_a_recovery(recorder, daemon, monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    emitter = recorder.emitter
    real_send = emitter._send_data
    failing = [True]

    def flaky(data: bytes) -> None:
        if failing[0]:
            raise OSError("down")
        real_send(data)

    monkeypatch.setattr(emitter, "_send_data", flaky)
    with caplog.at_level(logging.DEBUG, logger="fluoro.core.emitters.udp_emitter"):
        for state in (True, True, False, True):
            failing[0] = state
            recorder.begin_segment("ok" if not state else "lost")
            recorder.end_segment()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert [_decode(d)["name"] for d in daemon.wait_quiet()] == ["ok"]


def _entity(name: str):  # type: ignore[no-untyped-def]
    from fluoro.core.models.segment import Segment

    segment = Segment(name)
    segment.close()
    return segment


def test_daemon_back_on_its_port_gets_the_next_document_without_a_warning(caplog) -> None:  # type: ignore[no-untyped-def]
    """The socket is connected: the "port unreachable" of a datagram sent while the daemon
    was down surfaces on the next send, which must still go out (and not be logged)."""
    gone = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    gone.bind(("127.0.0.1", 0))
    port = gone.getsockname()[1]
    gone.close()
    emitter = UDPEmitter("127.0.0.1:%d" % port)
    with caplog.at_level(logging.DEBUG, logger="fluoro.core.emitters.udp_emitter"):
        emitter.send_entity(_entity("while-down"))  # answered by ICMP port unreachable
        back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        back.bind(("127.0.0.1", port))
        back.settimeout(2)
        try:
            emitter.send_entity(_entity("after-restart"))
            assert _decode(back.recv(70000))["name"] == "after-restart"
        finally:
            back.close()
    assert not [r for r in caplog.records if r.name == "fluoro.core.emitters.udp_emitter"]


def test_new_daemon_address_reconnects(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("AWS_XRAY_DAEMON_ADDRESS", raising=False)
    first, second = Daemon(), Daemon()
    try:
        emitter = UDPEmitter("127.0.0.1:%d" % first.port)
        emitter.send_entity(_entity("one"))
        emitter.set_daemon_address("127.0.0.1:%d" % second.port)
        emitter.send_entity(_entity("two"))
        assert [_decode(d)["name"] for d in first.wait_quiet()] == ["one"]
        assert [_decode(d)["name"] for d in second.wait_quiet()] == ["two"]
    finally:
        first.close()
        second.close()

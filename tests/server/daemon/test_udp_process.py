"""The UDP receiver process end to end: datagrams in, the parent gets the same Arrow columns as the lenient rules."""

from __future__ import annotations

import json
import socket
import threading
import time

import pyarrow as pa
import pytest

from fluoro.daemon.udp_process import UDPProcessReceiver
from fluoro.ingest import Reject, ingest
from fluoro.store.api import SegmentBatch
from fluoro.store.columns import ArrowBatch
from fluoro.store.doc_markers import pack_table

from ..helpers import FIXTURES
from ..helpers_docs import segment

HEADER = b'{"format":"json","version":1}\n'


class Collector:
    def __init__(self) -> None:
        self.batches: list[ArrowBatch] = []
        self.received = 0
        self.rejected: dict[str, int] = {}
        self.samples: list[Reject] = []
        self.dropped = 0
        self.lock = threading.Lock()

    def __call__(
        self, batch: ArrowBatch, received: int, rejected: dict[str, int], samples: list[Reject], dropped: int = 0
    ) -> None:
        with self.lock:
            self.batches.append(batch)
            self.received += received
            self.dropped += dropped
            for code, n in rejected.items():
                self.rejected[code] = self.rejected.get(code, 0) + n
            self.samples += samples


def _sorted(table: pa.Table) -> pa.Table:
    return table.sort_by([("id", "ascending"), ("doc", "ascending")])


@pytest.mark.parametrize("pack", [False, True])
def test_receiver_ships_what_the_lenient_rules_store(pack: bool) -> None:
    """With ``pack`` (a store that keeps packed documents), the documents come packed as the writer would pack them."""
    docs = [json.dumps(segment(annotations={"k": i, "s": "v"}, http={"response": {"status": 429}})).encode()
            for i in range(300)]  # fmt: skip
    docs += [p.read_bytes() for p in sorted((FIXTURES / "segments").glob("*.json"))]
    bad = [b"garbage\n{}", HEADER + b"{not json", HEADER + json.dumps(segment(trace_id="1-zz")).encode()]
    collect = Collector()
    receiver = UDPProcessReceiver("127.0.0.1", 0, collect, batch_docs=100, interval=0.05, pack=pack)
    receiver.start()
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for data in [HEADER + d for d in docs] + bad:
            sender.sendto(data, ("127.0.0.1", receiver.port))
            time.sleep(0.0002)  # stay well inside the socket buffer
    finally:
        sender.close()
        receiver.stop()  # drains what the kernel holds, then returns
    assert collect.received == len(docs) + len(bad)
    expected = SegmentBatch()
    refused: dict[str, int] = {}
    for body in docs + [b.partition(b"\n")[2] for b in bad[1:]]:
        try:
            ingest(expected, body, 1.0)
        except Reject as exc:
            refused[exc.code] = refused.get(exc.code, 0) + 1
    refused["InvalidHeader"] = 1
    assert collect.rejected == refused
    assert {s.code for s in collect.samples} <= set(refused)
    got = ArrowBatch.concat(collect.batches)
    assert len(collect.batches) > 1  # batch_docs and the interval split the stream
    want = ArrowBatch.from_batch(expected)
    assert {b.packed for b in collect.batches} == {pack}
    if pack:
        packed = pa.array(pack_table(want.segments), pa.binary())
        want.segments = want.segments.set_column(want.segments.schema.get_field_index("doc"), "doc", packed)
        assert packed != ArrowBatch.from_batch(expected).segments["doc"].combine_chunks()  # the test sees packing
    # ``received`` is the receiver's clock: compare it for plausibility, everything else exactly.
    now = time.time()
    assert all(now - 60 < r <= now for r in got.segments.column("received").to_pylist())
    same = got.segments.drop(["received"]), want.segments.drop(["received"])
    assert _sorted(same[0]).equals(_sorted(same[1]))
    ann = got.annotations.drop(["received"]), want.annotations.drop(["received"])
    key = [("trace_id", "ascending"), ("key", "ascending"), ("n", "ascending"), ("s", "ascending")]
    assert ann[0].sort_by(key).equals(ann[1].sort_by(key))


def test_batches_are_read_with_multiprocessing_framing_whatever_their_size() -> None:
    """The pump reads the child's ``send_bytes`` messages itself: same bytes, any size, control messages between."""
    import multiprocessing as mp
    import os

    from fluoro.daemon.udp_process import recv_bytes_into_buffer

    reader, writer = mp.Pipe(duplex=False)
    payloads = [b"", b"x", os.urandom(70_000), os.urandom(3_000_000)]
    sender = threading.Thread(target=lambda: [(writer.send(("batch", i)), writer.send_bytes(p)) for i, p in enumerate(payloads)])
    sender.start()
    for i, payload in enumerate(payloads):
        assert reader.recv() == ("batch", i)
        assert recv_bytes_into_buffer(reader.fileno()) == payload
    sender.join()
    # A child that dies mid-message is an EOF, which the pump treats as a crash (and restarts it).
    os.write(writer.fileno(), (1000).to_bytes(4, "big") + b"partial")
    writer.close()
    with pytest.raises(EOFError):
        recv_bytes_into_buffer(reader.fileno())


def _reader_of(reader: object, count: int, out: list[object]) -> threading.Thread:
    """A thread reading ``count`` (control message, payload) pairs as the parent's pump does."""
    from fluoro.daemon.udp_process import recv_bytes_into_buffer

    def read() -> None:
        for _ in range(count):
            out.append((reader.recv(), bytes(recv_bytes_into_buffer(reader.fileno()))))  # type: ignore[attr-defined]

    return threading.Thread(target=read, daemon=True)


def test_outbox_never_waits_for_a_parent_that_is_not_reading() -> None:
    """More than the pipe holds goes out in order once the parent reads, in Connection's framing."""
    import multiprocessing as mp
    import os

    from fluoro.ingest.worker import Outbox

    reader, writer = mp.Pipe(duplex=False)
    outbox = Outbox(writer)
    payloads = [os.urandom(n) for n in (0, 1, 20_000, 3_000_000, 5, 2_500_000)]
    sending = threading.Thread(target=lambda: [(outbox.send(("batch", i)), outbox.send_bytes(p))
                                               for i, p in enumerate(payloads)])  # fmt: skip
    sending.start()
    sending.join(5)
    assert not sending.is_alive()  # nobody read, and no call waited
    assert outbox.pending_bytes > 4_000_000  # a pipe holds 1 MB at most
    got: list[object] = []
    reading = _reader_of(reader, len(payloads), got)
    reading.start()
    assert outbox.flush(timeout=30)
    reading.join(30)
    assert got == [(("batch", i), p) for i, p in enumerate(payloads)]
    assert outbox.pending_bytes == 0


def test_outbox_holds_at_most_its_limit_then_waits_for_the_parent() -> None:
    import multiprocessing as mp
    import os

    from fluoro.ingest.worker import Outbox

    reader, writer = mp.Pipe(duplex=False)
    outbox = Outbox(writer, limit=1_000_000)
    payload = os.urandom(4_000_000)
    sending = threading.Thread(target=lambda: (outbox.send(("batch", 0)), outbox.send_bytes(payload)))
    sending.start()
    sending.join(0.5)
    assert sending.is_alive()  # over the limit: it waits
    got: list[object] = []
    reading = _reader_of(reader, 1, got)
    reading.start()
    sending.join(30)
    assert not sending.is_alive() and outbox.pending_bytes <= 1_000_000
    assert outbox.flush(timeout=30)
    reading.join(30)
    assert got == [(("batch", 0), payload)]


def _socket_queue(port: int) -> int | None:
    """Bytes the kernel holds for the UDP socket bound to ``port`` (Linux), else None."""
    try:
        lines = open("/proc/net/udp").read().splitlines()[1:]
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        if fields[1].endswith(f":{port:04X}"):
            return int(fields[4].split(":")[1], 16)
    return None


def test_receiver_keeps_taking_datagrams_while_the_parent_is_busy() -> None:
    """A parent that stops reading (a stalled pump) does not stop the child emptying its socket:
    with the kernel's default buffer (208 KB on Linux) a blocked child loses data within ms."""
    release = threading.Event()
    collect = Collector()

    def slow(batch: ArrowBatch, received: int, rejected: dict[str, int], samples: list[Reject], dropped: int) -> None:
        release.wait(30)
        collect(batch, received, rejected, samples, dropped)

    receiver = UDPProcessReceiver("127.0.0.1", 0, slow, batch_docs=100, interval=0.05)
    receiver.start()
    if _socket_queue(receiver.port) is None:
        receiver.stop()
        pytest.skip("needs /proc/net/udp (Linux) to see the socket's queue")
    docs = [HEADER + json.dumps(segment(annotations={"pad": "x" * 900, "i": i})).encode() for i in range(4000)]
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for data in docs:  # ~4 MB: four times what the pipe to the parent holds
            sender.sendto(data, ("127.0.0.1", receiver.port))
            time.sleep(0.0001)
        deadline = time.monotonic() + 20
        while _socket_queue(receiver.port) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _socket_queue(receiver.port) == 0  # all taken, though the parent has read one batch at most
        assert collect.received == 0
    finally:
        release.set()
        sender.close()
        receiver.stop()
    assert collect.received == len(docs)
    assert sum(len(b) for b in collect.batches) == len(docs)


def test_datagrams_the_kernel_drops_are_counted() -> None:
    """``socket_drops`` reads the socket's own drop counter (what overflowed its buffer)."""
    from fluoro.ingest.worker import socket_drops

    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    receiver.bind(("127.0.0.1", 0))
    drops = socket_drops(receiver)
    if drops is None:
        receiver.close()
        pytest.skip("needs /proc/net/udp (Linux)")
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        assert drops() == 0
        for _ in range(500):
            sender.sendto(b"x" * 1000, receiver.getsockname())
        receiver.setblocking(False)
        kept = 0
        while True:
            try:
                receiver.recv(2000)
            except BlockingIOError:
                break
            kept += 1
        assert kept < 500 and drops() == 500 - kept
    finally:
        sender.close()
        receiver.close()


def test_a_receiver_that_could_not_keep_up_reports_what_the_kernel_dropped() -> None:
    """A stopped receiver process (as if starved of CPU): the socket's buffer overflows, and the
    datagrams the kernel dropped are reported as ``dropped``; together with those received,
    every datagram sent is accounted for."""
    import os
    import signal

    collect = Collector()
    receiver = UDPProcessReceiver("127.0.0.1", 0, collect, batch_docs=2000, interval=0.05)
    receiver.start()
    if _socket_queue(receiver.port) is None or receiver.pid is None:
        receiver.stop()
        pytest.skip("needs /proc/net/udp (Linux)")
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sent = 0
    os.kill(receiver.pid, signal.SIGSTOP)
    try:
        # Tiny datagrams (each refused as "missing header") until the kernel's 256 MB are full.
        before = -1
        while _socket_queue(receiver.port) != before:
            before = _socket_queue(receiver.port)
            for _ in range(50_000):
                sender.sendto(b"x", ("127.0.0.1", receiver.port))
                sent += 1
    finally:
        os.kill(receiver.pid, signal.SIGCONT)
        sender.close()
    deadline = time.monotonic() + 60
    while collect.received < sent - collect.dropped and time.monotonic() < deadline:
        time.sleep(0.1)
        if not collect.dropped and collect.received and _socket_queue(receiver.port) == 0:
            break
    receiver.stop()
    assert collect.dropped > 0
    assert collect.received + collect.dropped == sent
    assert collect.rejected == {"InvalidHeader": collect.received}

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
        self.lock = threading.Lock()

    def __call__(self, batch: ArrowBatch, received: int, rejected: dict[str, int], samples: list[Reject]) -> None:
        with self.lock:
            self.batches.append(batch)
            self.received += received
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

"""The queue and writer thread: overload drops the oldest and stays bounded; stop flushes all."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from fluoro.daemon.pipeline import Pipeline, PipelineConfig
from fluoro.daemon.queue import DropOldestQueue
from fluoro.store.api import SegmentBatch
from fluoro.store.columns import ArrowBatch

from ..helpers import HEADER
from ..helpers_docs import segment


class SlowStore:
    """A store whose writes block until released, to force a backlog."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.gate = threading.Event()
        self.max_batch = 0

    def write(self, batch: ArrowBatch) -> None:
        self.gate.wait()
        self.max_batch = max(self.max_batch, len(batch))
        self.ids.extend(batch.segments["id"].to_pylist())

    def delete_before(self, received_before: float) -> int:
        return 0


def test_drop_oldest_queue_bounds_bytes() -> None:
    q: DropOldestQueue[int] = DropOldestQueue(max_bytes=100)
    dropped = sum(len(q.put(i, 10)) for i in range(25))
    assert dropped == 15 and q.bytes <= 100 and q.pop_many(100) == list(range(15, 25))


def test_overload_drops_oldest_and_keeps_newest() -> None:
    store = SlowStore()
    pipeline = Pipeline(store, PipelineConfig(max_batch=100, udp_queue_bytes=200_000, retention_seconds=None))  # type: ignore[arg-type]
    pipeline.start()
    docs = [segment() for _ in range(5000)]
    for d in docs:
        pipeline.submit_datagram(HEADER + json.dumps(d).encode())
        assert pipeline.udp.bytes <= 200_000 + 70_000
    assert pipeline.metrics.dropped > 0
    store.gate.set()
    pipeline.stop()
    stored = set(store.ids)
    # Everything not dropped was stored, and the newest documents survived.
    assert len(stored) + pipeline.metrics.dropped == len(docs)
    assert docs[-1]["id"] in stored and docs[0]["id"] not in stored
    assert store.max_batch <= 100


def test_http_batches_are_acknowledged_after_commit() -> None:
    store = SlowStore()
    store.gate.set()
    pipeline = Pipeline(store, PipelineConfig(retention_seconds=None))  # type: ignore[arg-type]
    pipeline.start()
    batch = SegmentBatch()
    from fluoro.ingest import ingest

    doc = segment()
    ingest(batch, json.dumps(doc).encode(), 1.0)
    acked: list[Any] = []
    done = threading.Event()
    pipeline.submit_batch(batch, lambda err: (acked.append((err, list(store.ids))), done.set()))
    assert done.wait(10)
    assert acked == [(None, [doc["id"]])]
    pipeline.stop()


def test_retention_runs_between_flushes_without_stopping_ingest() -> None:
    store = SlowStore()
    store.gate.set()
    cutoffs: list[float] = []
    store.delete_before = lambda before: cutoffs.append(before) or 0  # type: ignore[method-assign]
    config = PipelineConfig(flush_interval=0.01, retention_seconds=86400.0, retention_every=0.0)
    pipeline = Pipeline(store, config)  # type: ignore[arg-type]
    pipeline.start()
    docs = [segment() for _ in range(50)]
    for d in docs:
        pipeline.submit_datagram(HEADER + json.dumps(d).encode())
    pipeline.stop()
    assert cutoffs and all(c < docs[0]["start_time"] - 86000 for c in cutoffs)
    assert sorted(store.ids) == sorted(d["id"] for d in docs)


def test_the_flush_interval_counts_from_when_a_document_was_queued() -> None:
    """Documents queued during a long flush are due one interval after they arrived.

    This is what bounds a ``kill -9``'s loss (and send-to-visible) by the interval:
    counting it from when the writer got back to them would add the flush's duration.
    """
    interval, write_takes = 1.0, 1.2
    written: list[tuple[float, list[str]]] = []

    class TimedStore(SlowStore):
        def write(self, batch: ArrowBatch) -> None:
            ids = batch.segments["id"].to_pylist()
            if not written:
                time.sleep(write_takes)
            written.append((time.monotonic(), ids))

    pipeline = Pipeline(TimedStore(), PipelineConfig(flush_interval=interval, retention_seconds=None))  # type: ignore[arg-type]
    pipeline.start()
    first, second = segment(), segment()
    pipeline.submit_datagram(HEADER + json.dumps(first).encode())
    time.sleep(interval + 0.3)  # the first flush is under way
    queued = time.monotonic()
    pipeline.submit_datagram(HEADER + json.dumps(second).encode())
    deadline = time.monotonic() + 10
    while len(written) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    pipeline.stop()
    assert [ids for _, ids in written] == [[first["id"]], [second["id"]]]
    # Due at queued + interval (the first write ends before that); counted from the end of
    # the first write it would be ~1.9 s.
    assert written[1][0] - queued < interval + 0.45

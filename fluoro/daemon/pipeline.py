"""The ingest pipeline: queues in front of one writer thread that owns store writes.

UDP arrives either as column batches already parsed by the receiver process
(``submit_parsed``, the server's default) or as raw datagrams from an
in-process receiver thread (``submit_datagram``, parsed by the writer); both
queues are bounded in bytes and drop their oldest entries, counted, when
full.  HTTP batches arrive
already validated, are never dropped (the API refuses with a throttle
instead), and are acknowledged only after the store committed them.  The
writer flushes when a batch is full, when an acknowledgement is waiting, or
``flush_interval`` after the first queued document, which bounds what a
``kill -9`` can lose.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable, Optional

from fluoro.daemon.heap import HeapTrimmer
from fluoro.daemon.metrics import IngestMetrics
from fluoro.daemon.queue import DropOldestQueue
from fluoro.ingest import Reject, ingest, split_datagram
from fluoro.store.api import SegmentBatch, Store
from fluoro.store.columns import ArrowBatch

log = logging.getLogger("fluoro.ingest")
Ack = Callable[[Optional[BaseException]], None]


class Overloaded(Exception):
    """The HTTP queue is full; the caller should retry later."""


@dataclass(frozen=True)
class PipelineConfig:
    max_batch: int = 10_000
    flush_interval: float = 0.25
    # Must absorb a store stall (a DuckDB checkpoint takes up to ~1 s, longer on saturated
    # CPUs) at the full rate: ~2.5 s of 50,000 typical documents a second (~1.5 KB each as
    # Arrow columns).  The receiver process forwards everything it takes, so this queue, not
    # the kernel's socket buffer, is what rides out a stall; 96 MB once dropped a batch at 50,000/s.
    udp_queue_bytes: int = 192 * 1024 * 1024
    http_queue_bytes: int = 32 * 1024 * 1024
    retention_seconds: float | None = 30 * 86400
    retention_every: float = 300.0


class _RejectLog:
    """At most ``per_second`` reject lines a second, so hostile floods cannot fill the log."""

    def __init__(self, per_second: int = 20) -> None:
        self.per_second = per_second
        self.window = 0
        self.count = 0

    def __call__(self, source: str, reject: Reject) -> None:
        now = int(time.monotonic())
        if now != self.window:
            self.window, self.count = now, 0
        self.count += 1
        if self.count <= self.per_second:
            log.warning("rejected %s document%s: %s", source,
                        f" {reject.segment_id}" if reject.segment_id else "", reject)  # fmt: skip


class Pipeline:
    def __init__(self, store: Store, config: PipelineConfig, metrics: IngestMetrics | None = None) -> None:
        self.store = store
        self.config = config
        self.metrics = metrics or IngestMetrics()
        self.udp: DropOldestQueue[tuple[bytes, float]] = DropOldestQueue(config.udp_queue_bytes)
        self.parsed: DropOldestQueue[ArrowBatch] = DropOldestQueue(config.udp_queue_bytes)
        self._http: list[tuple[SegmentBatch, Ack]] = []
        self._http_bytes = 0
        self._http_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="fluoro-writer", daemon=True)
        self._last_retention = 0.0
        self.reject_log = _RejectLog()
        self._heap = HeapTrimmer()
        self.metrics.queue_depth = lambda: len(self.udp) + self.parsed.weight + len(self._http)

    def start(self) -> None:
        self._thread.start()

    def submit_datagram(self, data: bytes) -> None:
        """Queue one UDP datagram; never blocks (called on the receiving thread)."""
        self.metrics.received += 1
        dropped = self.udp.put((data, time.time()), len(data) + 64)
        if dropped:
            self.metrics.dropped += len(dropped)

    def submit_parsed(self, batch: ArrowBatch, received: int, rejected: dict[str, int],
                      samples: list[Reject], dropped: int = 0) -> None:  # fmt: skip
        """Queue a batch a UDP receiver process already parsed (counts come along; ``dropped``:
        datagrams the kernel dropped because the socket's buffer was full)."""
        self.metrics.received += received
        self.metrics.dropped += dropped
        for code, n in rejected.items():
            self.metrics.reject(code, n)
        for sample in samples:
            self.reject_log("UDP", sample)
        if not len(batch):
            return
        for old in self.parsed.put(batch, batch.nbytes, len(batch)):
            self.metrics.dropped += len(old)

    def submit_batch(self, batch: SegmentBatch, ack: Ack) -> None:
        """Queue validated documents; ``ack`` runs on the writer thread after commit."""
        size = sum(len(d) for d in batch.doc) + 256 * len(batch)
        with self._http_lock:
            if self._http and self._http_bytes + size > self.config.http_queue_bytes:
                raise Overloaded("the ingest queue is full")
            self._http.append((batch, ack))
            self._http_bytes += size
        self._wake.set()

    def stop(self, timeout: float = 60.0) -> None:
        """Flush everything queued, then stop the writer."""
        self._stopping = True
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _take_http(self) -> list[tuple[SegmentBatch, Ack]]:
        with self._http_lock:
            items, self._http, self._http_bytes = self._http, [], 0
        return items

    def _run(self) -> None:
        raw = SegmentBatch()  # parsed here: in-thread UDP and HTTP documents
        parts: list[ArrowBatch] = []  # parsed by a UDP receiver process
        count = 0
        acks: list[Ack] = []
        first_at: float | None = None
        cfg = self.config
        while True:
            stopping = self._stopping
            got = 0
            # The interval runs from when the oldest pending document was queued, not from when
            # this thread got to it: documents queued during a flush are due one interval after
            # they arrived, not one interval after that flush ended.
            datagrams, queued = self.udp.pop_timed(max(1, cfg.max_batch - count))
            if queued is not None and first_at is None:
                first_at = queued
            for data, received in datagrams:
                got += 1
                try:
                    ingest(raw, split_datagram(data), received)
                    count += 1
                except Reject as exc:
                    self.metrics.reject(exc.code)
                    self.reject_log("UDP", exc)
            while count < cfg.max_batch:
                parsed, queued = self.parsed.pop_timed(1)
                if not parsed:
                    break
                if first_at is None:
                    first_at = queued
                got += 1
                parts.append(parsed[0])
                count += len(parsed[0])
            for http_batch, ack in self._take_http():
                got += 1
                raw.extend(http_batch)
                count += len(http_batch)
                acks.append(ack)
            now = time.monotonic()
            if (count or acks) and first_at is None:
                first_at = now
            due = first_at is not None and now - first_at >= cfg.flush_interval
            if (count or acks) and (count >= cfg.max_batch or acks or due or stopping):
                if len(raw):
                    parts.append(ArrowBatch.from_batch(raw))
                self._flush(parts, count, acks)
                raw, parts, count, acks, first_at = SegmentBatch(), [], 0, [], None
                continue
            if stopping and not got and not len(self.udp) and not len(self.parsed):
                break
            self._maybe_retention()
            if not got:
                self._wake.wait(0.02 if first_at is not None else 0.1)
                self._wake.clear()

    def _flush(self, parts: list[ArrowBatch], count: int, acks: list[Ack]) -> None:
        started = time.perf_counter()
        error: BaseException | None = None
        try:
            # One write per kind: documents a receiver process packed, then the others (HTTP).
            for packed in (True, False):
                group = [p for p in parts if p.packed is packed]
                if group:
                    self.store.write(ArrowBatch.concat(group))
        except Exception as exc:  # the server must outlive a failing disk
            error = exc
            self.metrics.write_errors += 1
            log.exception("store write of %d documents failed", count)
        else:
            self.metrics.flushed(count, time.perf_counter() - started)
        for ack in acks:
            try:
                ack(error)
            except Exception:
                log.exception("ingest acknowledgement failed")
        self._heap.maybe_trim()

    def _maybe_retention(self) -> None:
        cfg = self.config
        if cfg.retention_seconds is None:
            return
        now = time.time()
        if now - self._last_retention < cfg.retention_every:
            return
        self._last_retention = now
        try:
            removed = self.store.delete_before(now - cfg.retention_seconds)
            if removed:
                log.info("retention removed %d documents", removed)
        except Exception:
            log.exception("retention failed")

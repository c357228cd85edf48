"""The UDP receiver process body: receive, decode, validate, ship column batches.

It lives in ``fluoro.ingest`` so the child imports only msgspec and the
ingest rules before it reports ready (no DuckDB, no web stack): a smaller
process that starts fast.  It then imports pyarrow and builds each batch's
Arrow tables itself, so the parent's pump thread only maps IPC bytes (no
per-document Python work on the parent's side of the GIL).
"""

from __future__ import annotations

import gc
import os
import select
import socket
import struct
import sys
import time
from collections import Counter, deque
from itertools import islice
from multiprocessing.connection import Connection
from multiprocessing.reduction import ForkingPickler
from typing import Any, Callable

from fluoro.ingest.datagram import MAX_DATAGRAM, datagram_body
from fluoro.ingest.errors import Reject
from fluoro.ingest.fast import AnnotationRow, SegmentRow, document_rows

# Messages child → parent: ("ready", port, receive buffer size) | ("error", text) | ("done",)
#   | ("batch", received, rejected counts by code, sample rejects, dropped), then two raw messages:
#     the segments and the annotations as Arrow IPC streams (send_bytes: no pickling copy).
#   After "ready", messages go through an ``Outbox``: receiving never waits for the parent to read.


# Linux doubles what is asked: 256 MB hold about 2.3 s of 50,000 typical segments a second
# (a 1.3 KB datagram takes 2.3 KB of kernel memory), taken only while this process lags.  At
# 64 MB, runs at that rate lost 1-4 %: the queue spikes while the server's threads take turns.
RECEIVE_BUFFER = 128 * 1024 * 1024


def set_receive_buffer(sock: socket.socket) -> int:
    """A deep kernel buffer rides out moments when this process gets no CPU.

    SO_RCVBUFFORCE may exceed net.core.rmem_max but needs CAP_NET_ADMIN;
    otherwise the kernel caps SO_RCVBUF at rmem_max.  Returns the size the kernel
    reports (Linux: twice what it granted; 0 if unknown).
    """
    # Python's socket module has no SO_RCVBUFFORCE constant; Linux's value is 33.
    force = getattr(socket, "SO_RCVBUFFORCE", 33 if sys.platform.startswith("linux") else None)
    for option in (force, socket.SO_RCVBUF):
        if option is None:
            continue
        try:
            sock.setsockopt(socket.SOL_SOCKET, option, RECEIVE_BUFFER)
            break
        except OSError:
            continue
    try:
        return int(sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))
    except OSError:
        return 0


# Reported sizes below this hold well under a second of a few thousand segments a second.
SMALL_BUFFER = 8 * 1024 * 1024


def small_buffer_warning(reported: int) -> str | None:
    """What to tell the operator when the kernel capped the receive buffer (None: it did not)."""
    if not 0 < reported < SMALL_BUFFER:
        return None
    return (
        f"the kernel gave the UDP socket a {reported // 1024} KB receive buffer ({RECEIVE_BUFFER >> 20} MB asked):"
        " bursts of a few thousand segments a second may be dropped; raise net.core.rmem_max"
        f" (sysctl -w net.core.rmem_max={RECEIVE_BUFFER}) or give the server CAP_NET_ADMIN"
    )


def socket_drops(sock: socket.socket) -> Callable[[], int] | None:
    """A reader of how many datagrams the kernel dropped for ``sock`` (its buffer was full),
    from /proc/net/udp or udp6 (Linux); None where that cannot be read."""
    inode = str(os.fstat(sock.fileno()).st_ino)
    path = "/proc/net/udp6" if sock.family == socket.AF_INET6 else "/proc/net/udp"

    def read() -> int:
        with open(path) as table:
            next(table)  # sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
            for line in table:
                fields = line.split()
                if len(fields) > 12 and fields[9] == inode:
                    return int(fields[12])
        return 0

    try:
        read()
    except (OSError, ValueError, StopIteration):
        return None
    return read


# What the receiver may hold for a parent that is not reading (a checkpoint, a GIL-heavy query):
# about 45,000 typical documents, 0.9 s at 50,000/s, beside what the kernel's buffer holds.
OUTBOX_BYTES = 64 * 1024 * 1024


class Outbox:
    """Messages to the parent in ``multiprocessing.Connection``'s framing, written as the pipe takes them.

    A blocking ``send`` stops receiving whenever the parent is slow to read (under load,
    tens of ms several times a second), and meanwhile only the socket's buffer holds
    arriving datagrams: Linux's default 208 KB hold about 90 (2 ms at 50,000/s), so
    a server without CAP_NET_ADMIN lost data at rates it could otherwise keep up with.
    Here the pipe is non-blocking; what it cannot take waits in memory and goes out
    from the receive loop (``pump``), so only more than ``limit`` bytes pending blocks.
    """

    def __init__(self, conn: Connection, limit: int = OUTBOX_BYTES) -> None:
        self._fd = conn.fileno()
        os.set_blocking(self._fd, False)
        self._pending: deque[memoryview] = deque()
        self.pending_bytes = 0
        self.limit = limit

    def send(self, obj: Any) -> None:
        """Like ``Connection.send``."""
        self.send_bytes(ForkingPickler.dumps(obj))

    def send_bytes(self, payload: Any) -> None:
        """Like ``Connection.send_bytes``; ``payload`` (bytes-like) must not change until written."""
        view = memoryview(payload).cast("B")
        n = len(view)
        header = struct.pack("!i", n) if n <= 0x7FFFFFFF else struct.pack("!iQ", -1, n)
        self._pending.append(memoryview(header))
        if n:
            self._pending.append(view)
        self.pending_bytes += len(header) + n
        self.pump()
        while self.pending_bytes > self.limit:
            self._wait_writable()
            self.pump()

    def pump(self) -> None:
        """Write what the pipe takes now, without waiting."""
        pending = self._pending
        while pending:
            try:
                written = os.writev(self._fd, list(islice(pending, 64)))
            except BlockingIOError:
                return
            self.pending_bytes -= written
            while pending and written >= len(pending[0]):
                written -= len(pending.popleft())
            if written:
                pending[0] = pending[0][written:]

    def flush(self, timeout: float | None = None) -> bool:
        """Write everything pending, waiting for the pipe; False if ``timeout`` passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._pending:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            self._wait_writable(left)
            self.pump()
        return True

    def _wait_writable(self, timeout: float | None = None) -> None:
        select.select([], [self._fd], [], timeout)


def run(host: str, port: int, conn: Connection, stop: Any, batch_docs: int, interval: float, pack: bool = False) -> None:
    """Receive until ``stop``; ``pack``: ship documents packed (``fluoro.store.doc_markers``)
    for a store that keeps them so, which takes that per-document work off the writer's GIL.

    Datagrams the kernel dropped because the socket's buffer was full (Linux) are reported
    with the batches as ``dropped``: otherwise that loss would show nowhere.
    """
    parent = os.getppid()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        reported = set_receive_buffer(sock)
        sock.bind((host, port))
    except OSError as exc:
        conn.send(("error", str(exc)))
        return
    # Counted from before "ready": nothing the kernel drops once the parent may send is missed.
    kernel_drops = socket_drops(sock)
    drops_seen = kernel_drops() if kernel_drops is not None else 0
    drops_at = time.monotonic()
    conn.send(("ready", sock.getsockname()[1], reported))
    # Imported once the parent goes on with its own start (pyarrow takes ~0.1 s); datagrams wait in the socket.
    from fluoro.store.columns import ArrowBatch
    from fluoro.store.doc_markers import pack as pack_document

    packer = pack_document if pack else None

    # Every document leaves tracked objects (row tuples, views) but no cycles, so the automatic
    # collector would scan them again and again for nothing (~2 us per document): collect once per
    # shipped batch instead, over what is left after the batch is gone, not the modules frozen here.
    gc.freeze()
    gc.disable()

    set_receive_timeout(sock, min(interval, 0.1) / 2)
    outbox = Outbox(conn)
    recv = sock.recv
    rows: list[SegmentRow] = []
    annotation_rows: list[AnnotationRow] = []
    received = dropped = 0
    rejected: Counter[str] = Counter()
    samples: list[tuple[str, str, str | None]] = []
    first = 0.0

    def ship(last: bool = False) -> None:
        nonlocal rows, annotation_rows, received, dropped, rejected, samples, drops_seen, drops_at
        if kernel_drops is not None and (last or time.monotonic() - drops_at >= 1.0):
            drops_at, now_seen = time.monotonic(), kernel_drops()
            dropped += now_seen - drops_seen
            drops_seen = now_seen
        segments, annotations = ArrowBatch.from_rows(rows, annotation_rows).to_ipc()
        outbox.send(("batch", received, dict(rejected), samples, dropped))
        outbox.send_bytes(segments)
        outbox.send_bytes(annotations)
        rows, annotation_rows, received, dropped, rejected, samples = [], [], 0, 0, Counter(), []
        gc.collect()

    def take(data: bytes) -> None:
        nonlocal received
        received += 1
        try:
            row, annotations = document_rows(datagram_body(data), time.time(), packer)
        except Reject as exc:
            rejected[exc.code] += 1
            if len(samples) < 5:
                samples.append((exc.code, exc.detail, exc.segment_id))
            return
        rows.append(row)
        if annotations:
            annotation_rows.extend(annotations)

    monotonic = time.monotonic
    try:
        taken = 0
        while True:
            try:
                data = recv(MAX_DATAGRAM + 1)  # blocks at most ``wait`` seconds
            except (BlockingIOError, socket.timeout):
                data = None
                if not received and os.getppid() != parent:
                    return
            if data is not None:
                if not received:
                    first = monotonic()
                take(data)
                taken += 1
            if received and (len(rows) >= batch_docs or monotonic() - first >= interval):
                ship()
            elif outbox.pending_bytes and (data is None or not taken & 31):
                outbox.pump()
            # The stop event costs a lock round trip: ask once per 256 datagrams, or when idle.
            if (data is None or not taken & 255) and stop.is_set():
                break
        sock.setblocking(False)
        while True:  # drain what the kernel already holds
            try:
                data = recv(MAX_DATAGRAM + 1)
            except OSError:
                break
            take(data)
            if len(rows) >= batch_docs:
                ship()
        ship(last=True)
        outbox.send(("done",))
        outbox.flush()
    except (BrokenPipeError, EOFError, OSError):
        return
    finally:
        sock.close()


def set_receive_timeout(sock: socket.socket, seconds: float) -> None:
    """Make a blocking ``recv`` give up after ``seconds``, at one system call per datagram.

    A Python socket timeout polls before every receive (two system calls);
    SO_RCVTIMEO has the kernel time out the receive itself (``BlockingIOError``).
    """
    try:
        usec = max(int(seconds * 1e6), 1000)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("@ll", usec // 1_000_000, usec % 1_000_000))
    except (OSError, struct.error, AttributeError):
        sock.settimeout(seconds)


"""The UDP receiver process body: receive, decode, validate, ship column batches.

It lives in ``fluoro.ingest`` so the child imports only msgspec and the
ingest rules (no Arrow, no DuckDB, no web stack): a smaller process that
starts fast.  Batches travel to the parent as msgpack-encoded column lists.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from collections import Counter
from multiprocessing.connection import Connection
from typing import Any

import msgspec

from fluoro.ingest.datagram import MAX_DATAGRAM, split_datagram
from fluoro.ingest.document import ingest
from fluoro.ingest.errors import Reject
from fluoro.store.api import SegmentBatch

# Messages child → parent: ("ready", port) | ("error", text) | ("done",)
#   | ("batch", msgpack of SegmentBatch columns, received, rejected counts by code, sample rejects)


RECEIVE_BUFFER = 32 * 1024 * 1024


def set_receive_buffer(sock: socket.socket) -> None:
    """A deep kernel buffer rides out moments when this process gets no CPU.

    SO_RCVBUFFORCE may exceed net.core.rmem_max but needs CAP_NET_ADMIN;
    otherwise the kernel caps SO_RCVBUF at rmem_max.
    """
    # Python's socket module has no SO_RCVBUFFORCE constant; Linux's value is 33.
    force = getattr(socket, "SO_RCVBUFFORCE", 33 if sys.platform.startswith("linux") else None)
    for option in (force, socket.SO_RCVBUF):
        if option is None:
            continue
        try:
            sock.setsockopt(socket.SOL_SOCKET, option, RECEIVE_BUFFER)
            return
        except OSError:
            continue


def run(host: str, port: int, conn: Connection, stop: Any, batch_docs: int, interval: float) -> None:
    parent = os.getppid()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        set_receive_buffer(sock)
        sock.bind((host, port))
    except OSError as exc:
        conn.send(("error", str(exc)))
        return
    conn.send(("ready", sock.getsockname()[1]))
    sock.settimeout(0.1)
    recv = sock.recv
    batch = SegmentBatch()
    received = 0
    rejected: Counter[str] = Counter()
    samples: list[tuple[str, str, str | None]] = []
    first = 0.0

    encode = msgspec.msgpack.Encoder().encode

    def ship() -> None:
        nonlocal batch, received, rejected, samples
        conn.send(("batch", encode(vars(batch)), received, dict(rejected), samples))
        batch, received, rejected, samples = SegmentBatch(), 0, Counter(), []

    def take(data: bytes) -> None:
        nonlocal received
        received += 1
        try:
            ingest(batch, split_datagram(data), time.time())
        except Reject as exc:
            rejected[exc.code] += 1
            if len(samples) < 5:
                samples.append((exc.code, exc.detail, exc.segment_id))

    try:
        while not stop.is_set():
            try:
                data = recv(MAX_DATAGRAM + 1)
            except socket.timeout:
                if os.getppid() != parent:
                    return
                data = b""
            if data:
                if not received:
                    first = time.monotonic()
                take(data)
            if received and (len(batch) >= batch_docs or time.monotonic() - first >= interval):
                ship()
        sock.setblocking(False)
        while True:  # drain what the kernel already holds
            try:
                data = recv(MAX_DATAGRAM + 1)
            except OSError:
                break
            take(data)
            if len(batch) >= batch_docs:
                ship()
        ship()
        conn.send(("done",))
    except (BrokenPipeError, EOFError, OSError):
        return
    finally:
        sock.close()

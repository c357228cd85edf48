"""UDP receiving and parsing in a child process, so the GIL is never contended per datagram.

In one process, every ``recv`` releases the GIL and then waits up to the
switch interval to get it back from the writer thread, which caps intake far
below the socket's rate.  The child (``fluoro.ingest.worker.run``) owns the
socket, decodes and validates documents into Arrow batches, and sends each
batch (with counter deltas) to the parent over a pipe, without waiting for the
parent to read it (``worker.Outbox``).  It stops when told to
(draining what the kernel already holds first) or when its parent disappears.
"""

from __future__ import annotations

import fcntl
import logging
import multiprocessing as mp
import os
import struct
import threading
from typing import Any, Callable

import pyarrow as pa

from fluoro.ingest import Reject, worker
from fluoro.store.columns import ArrowBatch

log = logging.getLogger("fluoro.udp")

# A 1 MB pipe (Linux's default pipe-max-size) moves a batch in a few reads instead of ~40.
_PIPE_BYTES = 1 << 20


def recv_bytes_into_buffer(fd: int) -> pa.Buffer:
    """One ``Connection.send_bytes`` message, read straight into the buffer it is returned in.

    ``Connection.recv_bytes`` reads into a ``BytesIO`` and copies out again, both
    holding the GIL, and a pipe hands over 64 KB per read: for a batch of a few MB
    that is ~40 GIL round trips, each a wait the API's queries share.  Here each
    read is a ``readv`` (GIL released) into an Arrow buffer, which is not zeroed
    first as a ``bytearray`` is.  Same framing as multiprocessing: a 4-byte
    big-endian length, or -1 and an 8-byte one.
    """
    (size,) = struct.unpack("!i", _read_exactly(fd, pa.allocate_buffer(4)))
    if size == -1:
        (size,) = struct.unpack("!Q", _read_exactly(fd, pa.allocate_buffer(8)))
    return _read_exactly(fd, pa.allocate_buffer(size))


def _read_exactly(fd: int, buf: pa.Buffer) -> pa.Buffer:
    view = memoryview(buf)
    got, size = 0, len(view)
    while got < size:
        n = os.readv(fd, [view[got:]])
        if n == 0:
            raise EOFError("the UDP receiver process closed its pipe mid-message")
        got += n
    return buf


class UDPProcessReceiver:
    """Same interface as ``UDPReceiver``; ``on_batch`` runs on a parent thread per shipped batch.

    If the child dies (a crash, an OOM kill), the pump thread logs it and starts
    a new one on the same port, so UDP intake resumes by itself.
    """

    def __init__(
        self,
        host: str,
        port: int,
        on_batch: Callable[[ArrowBatch, int, dict[str, int], list[Reject], int], None],
        batch_docs: int = 2000,
        interval: float = 0.05,
        pack: bool = False,
    ) -> None:
        """``pack``: the store takes packed documents (``Capabilities.packed_documents``).

        ``on_batch(batch, received, rejected, samples, dropped)``; ``dropped``: datagrams the
        kernel dropped from the socket's full buffer since the last batch.
        """
        self._ctx = mp.get_context("spawn")
        self._stop = self._ctx.Event()
        self._args = (host, batch_docs, interval)
        self._pack = pack
        self.restarts = 0
        self.receive_buffer = 0  # as the kernel reports it (Linux: twice what it granted)
        self.port: int = self._spawn(port)
        self.on_batch = on_batch
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._pump, name="fluoro-udp-pump", daemon=True)

    def _spawn(self, port: int) -> int:
        host, batch_docs, interval = self._args
        self._conn, child_conn = self._ctx.Pipe(duplex=False)
        self._proc = self._ctx.Process(
            target=worker.run, args=(host, port, child_conn, self._stop, batch_docs, interval, self._pack),
            name="fluoro-udp", daemon=True,
        )  # fmt: skip
        self._proc.start()
        child_conn.close()
        if hasattr(fcntl, "F_SETPIPE_SZ"):  # Linux
            try:
                fcntl.fcntl(self._conn.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
            except OSError:  # over /proc/sys/fs/pipe-max-size: the default size works too
                pass
        if not self._conn.poll(30):
            self._proc.kill()
            raise OSError("UDP receiver process did not start")
        msg = self._conn.recv()
        if msg[0] != "ready":
            self._proc.join(5)
            raise OSError(f"UDP bind failed: {msg[1]}")
        self.receive_buffer = int(msg[2])
        warning = worker.small_buffer_warning(self.receive_buffer)
        if warning is not None and not self.restarts:
            log.warning(warning)
        return int(msg[1])

    @property
    def pid(self) -> int | None:
        return self._proc.pid

    def start(self) -> None:
        self._thread.start()

    def _pump(self) -> None:
        try:
            while True:
                try:
                    msg: Any = self._conn.recv()
                    if msg[0] == "batch":
                        fd = self._conn.fileno()
                        payload = recv_bytes_into_buffer(fd), recv_bytes_into_buffer(fd)
                except (EOFError, OSError):
                    if self._stop.is_set():
                        return
                    self._proc.join(5)
                    log.error("UDP receiver process exited unexpectedly (code %s); restarting it",
                              self._proc.exitcode)  # fmt: skip
                    self._restart()
                    continue
                if msg[0] == "done":
                    return
                if msg[0] == "batch":
                    _, received, rejected, samples, dropped = msg
                    batch = ArrowBatch.from_ipc(*payload, packed=self._pack)
                    self.on_batch(batch, received, rejected, [Reject(*r) for r in samples], dropped)
        finally:
            self._done.set()

    def _restart(self) -> None:
        while not self._stop.is_set():
            try:
                self._conn.close()
                self._spawn(self.port)
                self.restarts += 1
                return
            except OSError:
                log.exception("could not restart the UDP receiver; retrying")
                self._stop.wait(1.0)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop receiving; returns once every datagram the child took is handed over."""
        self._stop.set()
        self._done.wait(timeout)
        self._proc.join(timeout)
        if self._proc.is_alive():
            self._proc.kill()
        self._conn.close()

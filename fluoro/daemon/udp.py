"""UDP receiver on a dedicated thread: a blocking ``recv`` loop is the cheapest way to
take datagrams off the socket in CPython, and keeps the event loop free for HTTP."""

from __future__ import annotations

import logging
import socket
import threading
from typing import Callable

from fluoro.ingest import MAX_DATAGRAM
from fluoro.ingest.worker import set_receive_buffer, small_buffer_warning

log = logging.getLogger("fluoro.udp")


class UDPReceiver:
    def __init__(self, host: str, port: int, on_datagram: Callable[[bytes], None]) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.receive_buffer = set_receive_buffer(self.sock)
        warning = small_buffer_warning(self.receive_buffer)
        if warning is not None:
            log.warning(warning)
        self.sock.bind((host, port))
        self.sock.settimeout(0.2)
        self.port: int = self.sock.getsockname()[1]
        self.on_datagram = on_datagram
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fluoro-udp", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        recv = self.sock.recv
        handle = self.on_datagram
        while not self._stop.is_set():
            try:
                data = recv(MAX_DATAGRAM + 1)
            except socket.timeout:
                continue
            except OSError:
                if self._stop.is_set():
                    break
                log.exception("UDP receive failed")
                continue
            if data:
                handle(data)

    def drain(self) -> None:
        """Read what is already in the socket buffer without waiting for more."""
        self.sock.setblocking(False)
        while True:
            try:
                data = self.sock.recv(MAX_DATAGRAM + 1)
            except (BlockingIOError, OSError):
                return
            if data:
                self.on_datagram(data)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2.0)
        self.drain()
        self.sock.close()

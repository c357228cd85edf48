"""Wiring for ``fluoro daemon``: UDP in, a bounded buffer, the sender, the TCP proxy, one port number."""

from __future__ import annotations

import logging
import socket
import threading
from dataclasses import dataclass

from fluoro.daemon.udp import UDPReceiver
from fluoro.forwarder.buffer import SequencedBuffer
from fluoro.forwarder.metrics import ForwarderMetrics
from fluoro.forwarder.proxy import ProxyServer
from fluoro.forwarder.sender import CentralClient, Sender
from fluoro.ingest import Reject, split_datagram

log = logging.getLogger("fluoro.forwarder")


@dataclass(frozen=True)
class ForwarderConfig:
    central: str  # the central fluoro server, http://HOST:PORT
    host: str = "127.0.0.1"
    port: int = 2000  # UDP and TCP, like the X-Ray daemon
    buffer_bytes: int = 16 * 1024 * 1024
    batch_docs: int = 100
    batch_bytes: int = 1024 * 1024
    flush_interval: float = 0.2
    timeout: float = 5.0
    backoff_initial: float = 0.25
    backoff_max: float = 10.0
    drain_timeout: float = 5.0


class Forwarder:
    def __init__(self, config: ForwarderConfig) -> None:
        CentralClient(config.central, config.timeout)  # validates the URL before anything binds
        self.config = config
        self.metrics = ForwarderMetrics()
        self.buffer = SequencedBuffer(config.buffer_bytes)
        self.metrics.buffered = lambda: (len(self.buffer), self.buffer.bytes)
        self.sender = Sender(
            self.buffer, self.metrics, config.central, batch_docs=config.batch_docs,
            batch_bytes=config.batch_bytes, flush_interval=config.flush_interval, timeout=config.timeout,
            backoff_initial=config.backoff_initial, backoff_max=config.backoff_max,
        )  # fmt: skip
        self.udp: UDPReceiver | None = None
        self.proxy: ProxyServer | None = None
        self.port = config.port
        self._proxy_thread: threading.Thread | None = None
        self.stopped = threading.Event()

    def on_datagram(self, data: bytes) -> None:
        self.metrics.received += 1
        try:
            doc = split_datagram(data)
        except Reject:
            self.metrics.rejected += 1
            return
        dropped = self.buffer.put(doc)
        if dropped:
            self.metrics.dropped += dropped

    def _bind(self) -> None:
        host, port = self.config.host, self.config.port
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        for _ in range(50):
            tcp = socket.socket(family, socket.SOCK_STREAM)
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                tcp.bind((host, port))
                self.udp = UDPReceiver(host, tcp.getsockname()[1], self.on_datagram)
            except OSError:
                tcp.close()
                if port:
                    raise
                continue
            self.port = self.udp.port
            self.proxy = ProxyServer(tcp, self.config.central, self.config.timeout, self.metrics)
            return
        raise OSError("no free port number for both TCP and UDP")

    def start(self) -> Forwarder:
        self._bind()
        assert self.udp is not None and self.proxy is not None
        self.sender.start()
        self.udp.start()
        self._proxy_thread = threading.Thread(target=self.proxy.serve_forever, kwargs={"poll_interval": 0.2},
                                              name="fluoro-forwarder-tcp", daemon=True)  # fmt: skip
        self._proxy_thread.start()
        log.info("fluoro daemon on %s:%d (UDP and TCP), forwarding to %s", self.config.host, self.port,
                 self.config.central)  # fmt: skip
        return self

    def stop(self) -> None:
        """Stop taking datagrams, send what is buffered (bounded by ``drain_timeout``), stop."""
        if self.udp is not None:
            self.udp.stop()
        self.sender.stop(self.config.drain_timeout)
        if self.proxy is not None:
            self.proxy.shutdown()
            self.proxy.server_close()
        left = len(self.buffer)
        if left:
            log.warning("fluoro daemon stopped with %d documents unsent", left)
        self.stopped.set()

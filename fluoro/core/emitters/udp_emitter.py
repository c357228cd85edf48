"""Sends entities to the daemon over UDP: one document per datagram, never over 64 KB."""

from __future__ import annotations

import logging
import socket

from ..daemon_config import DaemonConfig
from ..utils import jsonenc
from ..utils.jsonenc import dumps_bytes
from .packing import MAX_DOCUMENT_BYTES, split_document

log = logging.getLogger(__name__)

PROTOCOL_HEADER = '{"format":"json","version":1}'
PROTOCOL_DELIMITER = "\n"
DEFAULT_DAEMON_ADDRESS = "127.0.0.1:2000"
_PREFIX = (PROTOCOL_HEADER + PROTOCOL_DELIMITER).encode()
_encode = None  # the document encoder, loaded on the first send (keeps the import cheap)


def _load_encoder():  # type: ignore[no-untyped-def]
    global _encode
    _encode = jsonenc._encoder or jsonenc._load_encoder()
    return _encode


class UDPEmitter:
    """Non-blocking UDP sender. A send failure is logged once (then at debug level until
    a send succeeds again) and never raised into the application.

    The socket is connected to the daemon's address on first send: the kernel then skips
    the per-datagram address handling and route lookup of ``sendto``, and Python skips
    parsing the address tuple. A connected UDP socket reports an earlier datagram's ICMP
    "port unreachable" on a later send (the daemon was down); that send is retried once
    so it does not lose its own datagram to an older failure.
    """

    def __init__(self, daemon_address: str = DEFAULT_DAEMON_ADDRESS) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.setblocking(False)
        self._failing = False
        self.set_daemon_address(daemon_address)

    def send_entity(self, entity) -> None:  # type: ignore[no-untyped-def]
        try:
            doc = entity.to_dict()
            try:
                body = (_encode or _load_encoder())(doc)
            except Exception:
                body = dumps_bytes(doc)  # the tolerant path (values msgspec refuses)
            if len(body) <= MAX_DOCUMENT_BYTES:
                self._send_data(_PREFIX + body)
            else:
                for part in split_document(doc, MAX_DOCUMENT_BYTES):
                    self._send_data(_PREFIX + part)
        except Exception:
            self._report_failure()
        else:
            self._failing = False

    def set_daemon_address(self, address: str | None) -> None:
        if address:
            config = DaemonConfig(address)
            self._ip, self._port = config.udp_ip, config.udp_port
            self._target = self._send = None

    @property
    def ip(self) -> str:
        return self._ip

    @property
    def port(self) -> int:
        return self._port

    def _send_data(self, data: bytes) -> None:
        send = self._send
        if send is None:
            send = self._connect()
        try:
            send(data)
        except ConnectionRefusedError:
            send(data)

    def _connect(self):  # type: ignore[no-untyped-def]
        """Resolve the daemon's host name once (not per datagram) and connect the socket to it."""
        target = self._target = (socket.gethostbyname(self._ip), int(self._port))
        self._socket.connect(target)
        self._send = send = self._socket.send
        return send

    def _report_failure(self) -> None:
        if self._failing:
            log.debug("Failed to send entity to Daemon.", exc_info=True)
        else:
            self._failing = True
            self._target = self._send = None
            log.warning("Failed to send entity to Daemon at %s:%s; further failures are logged at debug level.",
                        self._ip, self._port, exc_info=True)

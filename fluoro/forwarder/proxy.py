"""The forwarder's TCP side: the X-Ray API proxied to the central server, plus its own status.

SDKs poll ``/GetSamplingRules`` and ``/SamplingTargets`` on the daemon
address; those (and any other X-Ray call) are passed through unchanged, so
sampling decisions stay central and shared by every host.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from fluoro.forwarder.metrics import ForwarderMetrics
from fluoro.forwarder.sender import CentralClient

log = logging.getLogger("fluoro.forwarder")
MAX_BODY = 16 * 1024 * 1024
_PASSED_HEADERS = ("content-type", "x-amz-target", "x-amz-date", "authorization", "user-agent")


def _error(code: str, status: int, message: str) -> tuple[int, dict[str, str], bytes]:
    body = json.dumps({"__type": code, "message": message}).encode()
    return status, {"content-type": "application/x-amz-json-1.1", "x-amzn-errortype": code}, body


class ProxyServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, sock: socket.socket, central_url: str, timeout: float, metrics: ForwarderMetrics
    ) -> None:
        super().__init__(sock.getsockname()[:2], _Handler, bind_and_activate=False)
        self.socket.close()
        self.socket = sock
        self.server_address = sock.getsockname()[:2]
        self.central_url = central_url
        self.timeout_s = timeout
        self.metrics = metrics
        self._local = threading.local()
        self.server_activate()

    def client(self) -> CentralClient:
        """One keep-alive connection per handler thread."""
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = CentralClient(self.central_url, self.timeout_s)
        return client


class _Handler(BaseHTTPRequestHandler):
    server: ProxyServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        log.debug("proxy: " + format, *args)

    def _reply(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() in ("content-type", "x-amzn-errortype", "x-amzn-requestid"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            body = self.server.metrics.render().encode()
            self._reply(200, {"content-type": "text/plain; version=0.0.4"}, body)
        elif path == "/healthz":
            snapshot = self.server.metrics.snapshot()
            status = 200 if snapshot["central_up"] else 503
            self._reply(status, {"content-type": "application/json"}, json.dumps(snapshot).encode())
        else:
            self._proxy(b"")

    def do_POST(self) -> None:  # noqa: N802
        length = self.headers.get("Content-Length", "0")
        if not length.isdigit() or int(length) > MAX_BODY:
            self._reply(
                *_error(
                    "RequestEntityTooLargeException", 413, f"Request body is larger than {MAX_BODY} bytes"
                )
            )
            return
        self._proxy(self.rfile.read(int(length)))

    def _proxy(self, body: bytes) -> None:
        headers = {k: v for k, v in self.headers.items() if k.lower() in _PASSED_HEADERS}
        try:
            reply = self.server.client().request(self.command, self.path, body, headers)
        except (OSError, http.client.HTTPException) as exc:
            reply = _error("ServiceUnavailableException", 503, f"central fluoro server unreachable: {exc}")
        self._reply(*reply)

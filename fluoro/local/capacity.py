"""DynamoDB provisioned write capacity, enforced in front of moto.

moto (server mode, 5.x) has no fault injection and never throttles: every write to a
table succeeds whatever its ``ProvisionedThroughput``. DynamoDB itself answers a write
beyond a table's capacity with HTTP 400 ``ProvisionedThroughputExceededException``.
This proxy forwards everything to moto unchanged, learns each table's
``WriteCapacityUnits`` from the ``CreateTable`` calls passing through it, and answers
writes beyond that rate with DynamoDB's own error shape, so application code sees the
throttle a real table would give it. Simplified on purpose: one write is one unit, and
there is no burst credit (DynamoDB keeps up to 300 s of unused capacity), so a burst of
writes to a 1-WCU table is throttled at once and the demo is repeatable.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

_TARGET = "DynamoDB_20120810."
_WRITES = {"PutItem", "UpdateItem", "DeleteItem"}
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade", "te", "trailer"}
THROTTLE_MESSAGE = ("The level of configured provisioned throughput for the table was exceeded. "
                    "Consider increasing your provisioning level with the UpdateTable API.")


@dataclass
class _Bucket:
    """A token bucket refilled at the table's write capacity per second, holding at most that much."""

    rate: float
    tokens: float
    updated: float

    def take(self, now: float) -> bool:
        self.tokens = min(self.rate, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class CapacityProxy:
    """An HTTP proxy to moto that throttles writes beyond a table's provisioned write capacity."""

    def __init__(self, upstream: str, host: str = "127.0.0.1") -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.buckets: dict[str, _Bucket] = {}
        self.throttled = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return "http://%s:%d" % (host if isinstance(host, str) else host.decode(), port)

    def start(self) -> CapacityProxy:
        self._thread = threading.Thread(target=self._server.serve_forever, name="capacity-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def admit(self, operation: str, body: dict[str, Any]) -> bool:
        """False when this DynamoDB call is a write beyond its table's provisioned capacity."""
        table = str(body.get("TableName", ""))
        now = time.monotonic()
        with self._lock:
            if operation == "CreateTable":
                units = (body.get("ProvisionedThroughput") or {}).get("WriteCapacityUnits")
                if body.get("BillingMode", "PROVISIONED") == "PROVISIONED" and units:
                    self.buckets[table] = _Bucket(float(units), float(units), now)
                return True
            bucket = self.buckets.get(table)
            if operation not in _WRITES or bucket is None or bucket.take(now):
                return True
            self.throttled += 1
            return False

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                pass

            def _relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                target = self.headers.get("X-Amz-Target", "")
                if target.startswith(_TARGET):
                    try:
                        params = json.loads(body or b"{}")
                    except ValueError:
                        params = {}
                    if isinstance(params, dict) and not proxy.admit(target[len(_TARGET):], params):
                        self._answer(400, json.dumps({
                            "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                            "message": THROTTLE_MESSAGE}).encode(), "application/x-amz-json-1.0")
                        return
                connection = http.client.HTTPConnection(*proxy.upstream, timeout=60)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                    connection.request(self.command, self.path, body=body or None, headers=headers)
                    response = connection.getresponse()
                    data = response.read()
                    self.send_response(response.status, response.reason)
                    for key, value in response.getheaders():
                        if key.lower() not in _HOP_BY_HOP and key.lower() != "content-length":
                            self.send_header(key, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                finally:
                    connection.close()

            def _answer(self, status: int, data: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("x-amzn-RequestId", "fluoro-capacity-%d" % proxy.throttled)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _relay

        return Handler

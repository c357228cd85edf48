"""The sending thread: oldest documents first, in batches, to ``PutTraceSegments``.

A batch leaves the buffer only when the central server answered it: 200
(documents it refused as invalid are counted, not retried), or a 4xx that a
retry cannot fix.  Connection errors, timeouts, 429 and 5xx keep the batch and
retry it after an exponential backoff with jitter, so a restarting central
server is not stampeded by every host at once.
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import threading
import time
from urllib.parse import urlparse

from fluoro.forwarder.buffer import SequencedBuffer
from fluoro.forwarder.metrics import ForwarderMetrics

log = logging.getLogger("fluoro.forwarder")


class CentralClient:
    """One keep-alive HTTP connection to the central server, reopened after any error."""

    def __init__(self, url: str, timeout: float) -> None:
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"central server URL must be http(s)://HOST:PORT, got {url!r}")
        self.https = parsed.scheme == "https"
        self.host = parsed.hostname
        self.port = parsed.port or (443 if self.https else 80)
        self.prefix = parsed.path.rstrip("/")
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def request(
        self, method: str, path: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        if self._conn is None:
            cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            self._conn = cls(self.host, self.port, timeout=self.timeout)
        try:
            self._conn.request(method, self.prefix + path, body=body, headers=headers)
            response = self._conn.getresponse()
            data = response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, data
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class Sender:
    def __init__(self, buffer: SequencedBuffer, metrics: ForwarderMetrics, central_url: str, *,
                 batch_docs: int, batch_bytes: int, flush_interval: float, timeout: float,
                 backoff_initial: float, backoff_max: float) -> None:  # fmt: skip
        self.buffer = buffer
        self.metrics = metrics
        self.client = CentralClient(central_url, timeout)
        self.batch_docs = batch_docs
        self.batch_bytes = batch_bytes
        self.flush_interval = flush_interval
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self._stop = threading.Event()
        self._deadline: float | None = None
        self._thread = threading.Thread(target=self._run, name="fluoro-forwarder-send", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, drain_timeout: float) -> None:
        """Keep sending what is buffered for up to ``drain_timeout`` seconds, then stop."""
        self._deadline = time.monotonic() + drain_timeout
        self._stop.set()
        self.buffer.has_data.set()
        self._thread.join(drain_timeout + self.client.timeout + 1)
        self.client.close()

    def _finished(self) -> bool:
        if not self._stop.is_set():
            return False
        return not len(self.buffer) or (self._deadline is not None and time.monotonic() >= self._deadline)

    def _run(self) -> None:
        failures = 0
        while not self._finished():
            if not self.buffer.has_data.wait(0.5):
                continue
            if not self._stop.is_set() and len(self.buffer) < self.batch_docs:
                # Let a batch fill up for a moment: fewer, larger requests.
                self._stop.wait(self.flush_interval)
            last, docs = self.buffer.peek(self.batch_docs, self.batch_bytes)
            if not docs:
                continue
            if self._send(last, docs):
                failures = 0
                continue
            failures += 1
            delay = min(self.backoff_max, self.backoff_initial * 2 ** (failures - 1)) * random.uniform(
                0.8, 1.2
            )
            if self._stop.is_set() and self._deadline is not None:
                delay = min(delay, max(0.0, self._deadline - time.monotonic()))
            time.sleep(delay) if self._stop.is_set() else self._stop.wait(delay)

    def _send(self, last: int, docs: list[bytes]) -> bool:
        body = json.dumps({"TraceSegmentDocuments": [d.decode("utf-8", "replace") for d in docs]}).encode()
        m = self.metrics
        try:
            status, _, data = self.client.request(
                "POST", "/TraceSegments", body, {"Content-Type": "application/json"}
            )
        except (OSError, http.client.HTTPException) as exc:
            return self._failed(f"central server unreachable: {exc}")
        if status == 200:
            try:
                refused = len(json.loads(data).get("UnprocessedTraceSegments") or [])
            except (ValueError, AttributeError):
                refused = 0
            m.unprocessed += refused
            m.forwarded += len(docs) - refused
            m.batches += 1
            m.central_up = True
            self.buffer.ack(last)
            return True
        if status == 429 or status >= 500:
            return self._failed(f"central server answered {status}: {data[:200]!r}")
        # Another 4xx: the same request can never succeed; count it and move on.
        log.warning("central server refused a batch of %d documents (%d): %r", len(docs), status, data[:200])
        m.unprocessed += len(docs)
        self.buffer.ack(last)
        return True

    def _failed(self, message: str) -> bool:
        m = self.metrics
        if m.central_up:
            log.warning("%s; buffering and retrying", message)
        m.send_failures += 1
        m.central_up = False
        m.last_error = message
        return False

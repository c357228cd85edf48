"""Ingest counters, shared by the UDP receiver, the writer thread and the API.

Plain ints updated under the GIL: ``+=`` on an attribute from two threads can
lose an increment in theory, an accepted inaccuracy for monitoring counters
(the tests compare stored data, never counters, for exactness).
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Callable


class IngestMetrics:
    def __init__(self) -> None:
        self.received = 0
        self.stored = 0
        self.dropped = 0
        self.write_errors = 0
        self.flushes = 0
        self.flush_seconds_sum = 0.0
        self.flush_seconds_max = 0.0
        self.rejected: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.queue_depth: Callable[[], int] = lambda: 0

    def reject(self, code: str, n: int = 1) -> None:
        with self._lock:
            self.rejected[code] += n

    def flushed(self, rows: int, seconds: float) -> None:
        self.stored += rows
        self.flushes += 1
        self.flush_seconds_sum += seconds
        self.flush_seconds_max = max(self.flush_seconds_max, seconds)

    def render(self) -> str:
        """Prometheus text exposition format, version 0.0.4."""
        lines = [
            "# HELP fluoro_segments_received_total Documents received over UDP and HTTP.",
            "# TYPE fluoro_segments_received_total counter",
            f"fluoro_segments_received_total {self.received}",
            "# HELP fluoro_segments_rejected_total Documents refused, by reason.",
            "# TYPE fluoro_segments_rejected_total counter",
        ]
        with self._lock:
            rejected = sorted(self.rejected.items())
        lines += [f'fluoro_segments_rejected_total{{reason="{code}"}} {n}' for code, n in rejected]
        if not rejected:
            lines.append('fluoro_segments_rejected_total{reason="none"} 0')
        lines += [
            "# HELP fluoro_segments_dropped_total Documents dropped under overload: the oldest queued, and"
            " datagrams the kernel dropped from the receiver's full socket buffer (Linux).",
            "# TYPE fluoro_segments_dropped_total counter",
            f"fluoro_segments_dropped_total {self.dropped}",
            "# HELP fluoro_segments_stored_total Documents committed to the store.",
            "# TYPE fluoro_segments_stored_total counter",
            f"fluoro_segments_stored_total {self.stored}",
            "# HELP fluoro_store_write_errors_total Failed store flushes.",
            "# TYPE fluoro_store_write_errors_total counter",
            f"fluoro_store_write_errors_total {self.write_errors}",
            "# HELP fluoro_queue_depth Documents waiting for the writer.",
            "# TYPE fluoro_queue_depth gauge",
            f"fluoro_queue_depth {self.queue_depth()}",
            "# HELP fluoro_flush_seconds Time to commit one batch to the store.",
            "# TYPE fluoro_flush_seconds summary",
            f"fluoro_flush_seconds_sum {self.flush_seconds_sum:.6f}",
            f"fluoro_flush_seconds_count {self.flushes}",
            "# HELP fluoro_flush_seconds_max Slowest flush since start.",
            "# TYPE fluoro_flush_seconds_max gauge",
            f"fluoro_flush_seconds_max {self.flush_seconds_max:.6f}",
        ]
        return "\n".join(lines) + "\n"

"""Forwarder counters, served as Prometheus text on ``/metrics`` and JSON on ``/healthz``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


@dataclass
class ForwarderMetrics:
    received: int = 0  # datagrams taken off the socket
    rejected: int = 0  # datagrams without a valid daemon header or body
    forwarded: int = 0  # documents the central server accepted
    unprocessed: int = 0  # documents the central server refused as invalid (never retried)
    dropped: int = 0  # documents dropped, oldest first, because the buffer was full
    batches: int = 0  # successful PutTraceSegments calls
    send_failures: int = 0  # failed calls (each one is retried after a backoff)
    central_up: bool = True
    last_error: str = ""
    buffered: Callable[[], tuple[int, int]] = field(default=lambda: (0, 0), repr=False)

    def snapshot(self) -> dict[str, float | str | bool]:
        docs, size = self.buffered()
        return {
            "received": self.received, "rejected": self.rejected, "forwarded": self.forwarded,
            "unprocessed": self.unprocessed, "dropped": self.dropped, "batches": self.batches,
            "send_failures": self.send_failures, "buffered_documents": docs, "buffered_bytes": size,
            "central_up": self.central_up, "last_error": self.last_error,
        }  # fmt: skip

    def render(self) -> str:
        lines = []
        for name, value in self.snapshot().items():
            if isinstance(value, str):
                continue
            kind = "gauge" if name.startswith("buffered") or name == "central_up" else "counter"
            metric = f"fluoro_forwarder_{name}" + ("_total" if kind == "counter" else "")
            lines += [f"# TYPE {metric} {kind}", f"{metric} {int(value)}"]
        return "\n".join(lines) + "\n"

"""Synthetic segment documents for tests (ids and times are valid and fresh)."""

from __future__ import annotations

import os
import time
from typing import Any


def new_trace_id(at: float | None = None) -> str:
    return f"1-{int(at if at is not None else time.time()):08x}-{os.urandom(12).hex()}"


def new_id() -> str:
    return os.urandom(8).hex()


def segment(trace_id: str | None = None, **fields: Any) -> dict[str, Any]:
    now = time.time()
    doc: dict[str, Any] = {
        "id": new_id(),
        "trace_id": trace_id or new_trace_id(now),
        "name": "svc",
        "start_time": now,
        "end_time": now + 0.25,
    }
    doc.update(fields)
    return doc

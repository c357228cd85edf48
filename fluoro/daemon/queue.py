"""A byte-bounded FIFO that drops the oldest entries when full, like the daemon's ring buffer.

Memory stays bounded however fast datagrams arrive; what is lost is the
oldest data, counted by the caller via the return value of ``put``.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class DropOldestQueue(Generic[T]):
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: deque[tuple[T, int, int, float]] = deque()
        self._bytes = 0
        self._weight = 0
        self._lock = threading.Lock()

    def put(self, item: T, size: int, weight: int = 1) -> list[T]:
        """Append ``item``; returns the old entries dropped to make room (usually none).

        ``weight`` is what ``weight`` sums (documents, when an item is a batch).
        """
        dropped: list[T] = []
        with self._lock:
            self._items.append((item, size, weight, time.monotonic()))
            self._bytes += size
            self._weight += weight
            while self._bytes > self.max_bytes and len(self._items) > 1:
                old, old_size, old_weight, _ = self._items.popleft()
                self._bytes -= old_size
                self._weight -= old_weight
                dropped.append(old)
        return dropped

    def pop_many(self, limit: int) -> list[T]:
        return self.pop_timed(limit)[0]

    def pop_timed(self, limit: int) -> tuple[list[T], float | None]:
        """Up to ``limit`` entries, and when the first of them was put (``time.monotonic``)."""
        out: list[T] = []
        first: float | None = None
        with self._lock:
            items = self._items
            if items:
                first = items[0][3]
            while items and len(out) < limit:
                item, size, weight, _ = items.popleft()
                self._bytes -= size
                self._weight -= weight
                out.append(item)
        return out, first

    def __len__(self) -> int:
        return len(self._items)

    @property
    def bytes(self) -> int:
        return self._bytes

    @property
    def weight(self) -> int:
        return self._weight

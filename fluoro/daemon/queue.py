"""A byte-bounded FIFO that drops the oldest entries when full, like the daemon's ring buffer.

Memory stays bounded however fast datagrams arrive; what is lost is the
oldest data, counted by the caller via the return value of ``put``.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class DropOldestQueue(Generic[T]):
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: deque[tuple[T, int]] = deque()
        self._bytes = 0
        self._lock = threading.Lock()

    def put(self, item: T, size: int) -> int:
        """Append ``item``; returns how many old entries were dropped to make room."""
        dropped = 0
        with self._lock:
            self._items.append((item, size))
            self._bytes += size
            while self._bytes > self.max_bytes and len(self._items) > 1:
                _, old = self._items.popleft()
                self._bytes -= old
                dropped += 1
        return dropped

    def pop_many(self, limit: int) -> list[T]:
        out: list[T] = []
        with self._lock:
            items = self._items
            while items and len(out) < limit:
                item, size = items.popleft()
                self._bytes -= size
                out.append(item)
        return out

    def __len__(self) -> int:
        return len(self._items)

    @property
    def bytes(self) -> int:
        return self._bytes

"""A byte-bounded document buffer where sending does not remove: acknowledging does.

The sender peeks at the oldest documents and removes them only once the
central server took them, so a failed send loses nothing; meanwhile new
documents keep arriving and, past the bound, the oldest are dropped, even
ones being sent (their acknowledgement then removes nothing twice).
"""

from __future__ import annotations

import threading
from collections import deque


class SequencedBuffer:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: deque[tuple[int, bytes]] = deque()
        self._bytes = 0
        self._next = 0
        self._lock = threading.Lock()
        self.has_data = threading.Event()

    def put(self, doc: bytes) -> int:
        """Append ``doc``; returns how many old documents were dropped for room."""
        dropped = 0
        with self._lock:
            self._items.append((self._next, doc))
            self._next += 1
            self._bytes += len(doc)
            while self._bytes > self.max_bytes and len(self._items) > 1:
                _, old = self._items.popleft()
                self._bytes -= len(old)
                dropped += 1
        self.has_data.set()
        return dropped

    def peek(self, max_docs: int, max_bytes: int) -> tuple[int, list[bytes]]:
        """The oldest documents (at least one if any), and the sequence number of the last."""
        out: list[bytes] = []
        size = 0
        last = -1
        with self._lock:
            for seq, doc in self._items:
                if out and (len(out) >= max_docs or size + len(doc) > max_bytes):
                    break
                out.append(doc)
                size += len(doc)
                last = seq
        return last, out

    def ack(self, last: int) -> None:
        """Remove everything up to sequence number ``last`` that is still buffered."""
        with self._lock:
            while self._items and self._items[0][0] <= last:
                _, doc = self._items.popleft()
                self._bytes -= len(doc)
            if not self._items:
                self.has_data.clear()

    def __len__(self) -> int:
        return len(self._items)

    @property
    def bytes(self) -> int:
        return self._bytes

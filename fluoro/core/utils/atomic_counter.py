"""A thread-safe counter, kept for upstream compatibility."""

import threading


class AtomicCounter:
    def __init__(self, initial: int = 0) -> None:
        self.value = initial
        self._lock = threading.Lock()
        self._initial = initial

    def increment(self, num: int = 1) -> int:
        with self._lock:
            self.value += num
            return self.value

    def decrement(self, num: int = 1) -> int:
        with self._lock:
            self.value -= num
            return self.value

    def get_current(self) -> int:
        with self._lock:
            return self.value

    def reset(self) -> int:
        with self._lock:
            self.value = self._initial
            return self.value

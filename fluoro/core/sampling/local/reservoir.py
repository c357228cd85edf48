"""Per-second budget of guaranteed samples for one local rule (``fixed_target``)."""

from __future__ import annotations

import threading

from .. import _clock


class Reservoir:
    """Grant up to ``traces_per_sec`` samples per wall-clock second; thread-safe."""

    def __init__(self, traces_per_sec: int = 0) -> None:
        self._lock = threading.Lock()
        self.traces_per_sec = traces_per_sec
        self.used_this_sec = 0
        self.this_sec = int(_clock.now())

    def take(self) -> bool:
        """Return True and consume one slot if the current second still has budget."""
        now = int(_clock.now())
        with self._lock:
            if now != self.this_sec:
                self.used_this_sec = 0
                self.this_sec = now
            if self.used_this_sec >= self.traces_per_sec:
                return False
            self.used_this_sec += 1
            return True

"""Give freed heap memory back to the system after store writes.

Each flush allocates and frees tens of MB (Arrow tables, compressed chunks,
documents); glibc keeps freed memory in its arenas, so the process's resident
size ratchets up to its worst flush and stays there.  ``malloc_trim`` returns
the free pages; it costs a few ms, so it runs at most once per ``every`` seconds.
"""

from __future__ import annotations

import ctypes
import math
import sys
import time
from typing import Callable


def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return None
    fn.argtypes = [ctypes.c_size_t]
    fn.restype = ctypes.c_int
    return fn  # type: ignore[no-any-return]


class HeapTrimmer:
    def __init__(self, every: float = 1.0) -> None:
        self.every = every
        self._trim = _malloc_trim()
        self._last = -math.inf  # monotonic time may start near 0 (a machine up for less than ``every``)

    @property
    def available(self) -> bool:
        return self._trim is not None

    def maybe_trim(self) -> bool:
        """Trim if the last trim is ``every`` seconds old; returns whether it trimmed."""
        if self._trim is None:
            return False
        now = time.monotonic()
        if now - self._last < self.every:
            return False
        self._last = now
        self._trim(0)
        return True

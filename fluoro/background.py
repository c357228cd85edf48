"""Background threads yield the CPU to ingest.

Under CPU saturation something has to wait.  A datagram the kernel drops is
lost, a delayed flush only waits in its queue, and a late summary or map only
arrives late (their counts stay exact).  So the threads that can wait lower
their own priority.  On Linux the nice value is per thread, and threads a
thread starts inherit it; elsewhere it would be the whole process's, so this
does nothing there.  Raising a nice value needs no privileges.

Priorities alone do not stop a background thread from taking turns; the ones
that can pause ask ``HostBusy`` whether the host's CPUs are saturated
(``/proc/stat``; never, where that is unknown).
"""

from __future__ import annotations

import os
import sys
import time
from typing import Callable


def raise_nice(steps: int) -> None:
    """Add ``steps`` to the nice value (at most 19) of the calling thread on Linux, of the
    whole process elsewhere."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, min(19, os.getpriority(os.PRIO_PROCESS, 0) + steps))
    except (OSError, AttributeError):
        pass


def lower_thread_priority(steps: int) -> None:
    """``raise_nice`` for the calling thread alone: nothing where that would be the process."""
    if sys.platform.startswith("linux"):
        raise_nice(steps)


def _read_proc_stat() -> tuple[float, float] | None:
    """(idle, total) CPU time of the host since boot, in clock ticks; None off Linux."""
    try:
        with open("/proc/stat", "rb") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != b"cpu":
        return None
    ticks = [float(v) for v in fields[1:]]
    # user nice system idle iowait irq softirq steal (guest time is already in user/nice)
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0.0)
    return idle, sum(ticks[:8])


class HostIdle:
    """The share of the host's CPU time left idle between two calls (None: unknown)."""

    def __init__(self, read: Callable[[], tuple[float, float] | None] = _read_proc_stat) -> None:
        self._read = read
        self._last = read()

    @property
    def available(self) -> bool:
        return self._last is not None

    def sample(self) -> float | None:
        now = self._read()
        last, self._last = self._last, now
        if now is None or last is None or now[1] <= last[1]:
            return None
        return max(0.0, min(1.0, (now[0] - last[0]) / (now[1] - last[1])))


class HostBusy:
    """Whether the host's CPUs are saturated: idle below ``below`` over the last ``every``
    seconds or more (sampled at most that often, so each answer covers a real interval)."""

    def __init__(self, below: float = 0.1, every: float = 1.0, host: HostIdle | None = None) -> None:
        self.below = below
        self.every = every
        self._host = host or HostIdle()
        self._at = time.monotonic()
        self._busy = False

    def __call__(self) -> bool:
        now = time.monotonic()
        if now - self._at >= self.every:
            self._at = now
            idle = self._host.sample()
            self._busy = idle is not None and idle < self.below
        return self._busy

"""DuckDB's worker threads follow how busy the host's CPUs are.

With ``DuckDBConfig.threads`` workers, DuckDB runs a statement's pipelines in
parallel: on an idle machine a search over a million segments answers in 36
instead of 48 ms.  On a machine whose cores ingest already keeps busy, the
extra worker only adds scheduling and merging: at 50,000 segments/s the server
spent 3.6 us more CPU per segment with two workers than with one, and lost
more datagrams for it.  So while the host's CPUs are nearly all busy and the
store is taking a heavy stream of writes, it runs DuckDB with one thread, and
returns to ``threads`` once the CPUs idle again or the stream thins.  Queries
alone never make it serial: a user's searches on a busy machine keep both
threads.  ``SET threads`` is global to the database and safe beside running
statements (they finish on the threads left).
"""

from __future__ import annotations


class ThreadGovernor:
    """Chooses DuckDB's thread count from the host's idle share and the write rate, with hysteresis.

    ``decide`` is called about once a second with a fresh idle sample and the segments
    written per second since the last call; it returns the thread count to set, or None to
    keep the current one.  Idle below ``busy_idle`` while writing at least ``heavy_writes``
    a second, for ``busy_samples`` samples in a row, goes to one thread.  Idle above
    ``idle_idle`` or writes below half of ``heavy_writes`` for ``idle_samples`` in a row goes
    back (slower, so a short lull does not flip it back and forth).
    """

    def __init__(
        self,
        threads: int,
        busy_idle: float = 0.2,
        idle_idle: float = 0.4,
        heavy_writes: float = 10_000.0,
        busy_samples: int = 2,
        idle_samples: int = 5,
    ) -> None:
        self.threads = threads
        self.current = threads
        self.busy_idle = busy_idle
        self.idle_idle = idle_idle
        self.heavy_writes = heavy_writes
        self.busy_samples = busy_samples
        self.idle_samples = idle_samples
        self._busy = 0
        self._idle = 0

    def decide(self, idle: float | None, writes_per_second: float) -> int | None:
        if idle is None or self.threads <= 1:
            return None
        busy = idle < self.busy_idle and writes_per_second >= self.heavy_writes
        calm = idle > self.idle_idle or writes_per_second < self.heavy_writes / 2
        self._busy = self._busy + 1 if busy else 0
        self._idle = self._idle + 1 if calm else 0
        if self.current != 1 and self._busy >= self.busy_samples:
            self.current = 1
            return 1
        if self.current == 1 and self._idle >= self.idle_samples:
            self.current = self.threads
            return self.threads
        return None

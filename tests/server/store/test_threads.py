"""DuckDB's thread count follows the host's idle CPU (``fluoro.store.duckdb.threads``)."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest

from fluoro.background import HostBusy, HostIdle, _read_proc_stat
from fluoro.store.duckdb import DuckDBConfig, DuckDBStore
from fluoro.store.duckdb.threads import ThreadGovernor

from ..helpers_docs import segment
from .test_conformance import batch_of

HEAVY = 50_000.0  # segments written per second


def test_the_governor_goes_serial_when_busy_and_back_when_idle() -> None:
    governor = ThreadGovernor(2, busy_idle=0.2, idle_idle=0.4, heavy_writes=10_000, busy_samples=2, idle_samples=3)
    # One busy second is not enough; two in a row are.
    assert [governor.decide(x, HEAVY) for x in (0.1, 0.5, 0.1, 0.05)] == [None, None, None, 1]
    # Staying busy or in between changes nothing.
    assert [governor.decide(x, HEAVY) for x in (0.0, 0.3, 0.39, 0.1)] == [None] * 4
    # Back only after three idle samples in a row; an in-between one restarts the count.
    assert [governor.decide(x, HEAVY) for x in (0.5, 0.6, 0.3, 0.5, 0.5)] == [None] * 5
    assert governor.decide(0.9, HEAVY) == 2
    assert governor.current == 2
    assert governor.decide(None, HEAVY) is None  # an unknown sample changes nothing


def test_only_a_heavy_write_stream_makes_it_serial() -> None:
    """Queries alone can keep the CPUs busy: they keep their parallel threads."""
    governor = ThreadGovernor(2, heavy_writes=10_000, busy_samples=2, idle_samples=3)
    assert [governor.decide(0.0, 9_999) for _ in range(10)] == [None] * 10
    assert [governor.decide(0.0, 10_000) for _ in range(2)] == [None, 1]
    # Back when the stream thins, even with the CPUs still busy (a long query load).
    assert [governor.decide(0.0, 4_000) for _ in range(3)] == [None, None, 2]


def test_a_single_threaded_configuration_is_never_changed() -> None:
    governor = ThreadGovernor(1)
    assert [governor.decide(0.0, HEAVY) for _ in range(5)] == [None] * 5


def test_host_idle_is_the_share_of_idle_ticks_between_samples() -> None:
    readings = iter([(100.0, 1000.0), (150.0, 1100.0), (150.0, 1100.0), (400.0, 1300.0)])
    host = HostIdle(lambda: next(readings))
    assert host.available
    assert host.sample() == pytest.approx(0.5)
    assert host.sample() is None  # no time passed
    assert host.sample() == pytest.approx(1.0)  # clamped: idle grew faster than the total (rounding)


def test_host_busy_means_idle_below_the_threshold_over_a_whole_interval() -> None:
    class Fake(HostIdle):
        def __init__(self, samples: list[float | None]) -> None:
            super().__init__(lambda: (0.0, 1.0))
            self.samples = samples

        def sample(self) -> float | None:
            return self.samples.pop(0)

    busy = HostBusy(below=0.1, every=0.0, host=Fake([0.5, 0.05, None, 0.09, 0.1]))
    assert [busy() for _ in range(5)] == [False, True, False, True, False]  # unknown: not busy
    host = Fake([0.0])
    slow = HostBusy(below=0.1, every=3600.0, host=host)
    assert slow() is False  # no interval has passed yet: nothing sampled
    assert host.samples == [0.0]


def test_host_idle_is_unknown_without_proc_stat() -> None:
    host = HostIdle(lambda: None)
    assert not host.available
    assert host.sample() is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/stat is Linux's")
def test_proc_stat_is_read_as_idle_and_total_ticks() -> None:
    first = _read_proc_stat()
    assert first is not None
    idle, total = first
    assert 0 <= idle <= total
    deadline = time.monotonic() + 0.3
    while time.monotonic() < deadline:  # burn a little CPU so the total moves
        pass
    second = _read_proc_stat()
    assert second is not None and second[1] > total


def _threads(store: DuckDBStore) -> int:
    row = store._db.execute("SELECT current_setting('threads')").fetchone()
    assert row is not None
    return int(row[0])


def test_the_store_switches_duckdb_threads_and_keeps_working(tmp_path: Path) -> None:
    store = DuckDBStore(DuckDBConfig(path=str(tmp_path / "t.duckdb"), threads=2, adapt_threads=False))
    try:
        cur = store._cursor()
        docs = [segment() for _ in range(200)]
        store.write(batch_of(*docs[:100]))
        store._adapt_threads(cur, 1)
        assert _threads(store) == 1
        store.write(batch_of(*docs[100:]))
        assert len(store.documents([d["trace_id"] for d in docs[95:105]])) == 10
        store._adapt_threads(cur, None)  # no decision: unchanged
        assert _threads(store) == 1
        store._adapt_threads(cur, 2)
        assert _threads(store) == 2
        cur.close()
    finally:
        store.close()


def test_the_store_follows_a_busy_host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The background loop: a host reported fully busy brings DuckDB down to one thread."""
    import fluoro.store.duckdb.store as store_module

    class BusyHost(HostIdle):
        def __init__(self) -> None:
            super().__init__(lambda: (0.0, 1.0))

        def sample(self) -> float | None:
            return 0.0

    monkeypatch.setattr(store_module, "HostIdle", BusyHost)
    real_loop = DuckDBStore._threads_loop
    monkeypatch.setattr(DuckDBStore, "_threads_loop", lambda self, host, gov: real_loop(self, host, gov, every=0.1))
    # 100 segments per 0.1 s interval: 1,000/s, heavy for this governor.
    monkeypatch.setattr(store_module, "ThreadGovernor", lambda threads: ThreadGovernor(threads, heavy_writes=500))
    store = DuckDBStore(DuckDBConfig(path=str(tmp_path / "t.duckdb"), threads=2))
    try:
        time.sleep(0.5)
        assert _threads(store) == 2  # busy CPUs, but nothing written
        deadline = time.monotonic() + 10
        while _threads(store) != 1 and time.monotonic() < deadline:
            store.write(batch_of(*[segment() for _ in range(100)]))
            time.sleep(0.1)
        assert _threads(store) == 1
    finally:
        store.close()
    assert store._threads_thread is not None and not store._threads_thread.is_alive()


def test_no_governor_when_asked_not_to(tmp_path: Path) -> None:
    store = DuckDBStore(DuckDBConfig(path=str(tmp_path / "t.duckdb"), threads=2, adapt_threads=False))
    try:
        assert store._threads_thread is None
    finally:
        store.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are Linux's")
def test_background_threads_lower_only_their_own_priority() -> None:
    import os

    from fluoro.background import lower_thread_priority

    before = os.getpriority(os.PRIO_PROCESS, 0)
    seen: dict[str, int] = {}

    def background() -> None:
        lower_thread_priority(3)
        seen["self"] = os.getpriority(os.PRIO_PROCESS, 0)
        child = threading.Thread(target=lambda: seen.setdefault("child", os.getpriority(os.PRIO_PROCESS, 0)))
        child.start()
        child.join()

    thread = threading.Thread(target=background)
    thread.start()
    thread.join()
    assert seen["self"] == min(19, before + 3)
    assert seen["child"] == seen["self"]  # threads it starts inherit it (DuckDB's workers)
    assert os.getpriority(os.PRIO_PROCESS, 0) == before  # the rest of the process is untouched

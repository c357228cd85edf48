"""The writer's heap trimming: rate-limited, and real on glibc."""

from __future__ import annotations

import sys

import pytest

from fluoro.daemon.heap import HeapTrimmer


def test_trims_at_most_once_per_interval() -> None:
    trimmer = HeapTrimmer(every=3600)
    if not trimmer.available:
        pytest.skip(f"no glibc malloc_trim on {sys.platform}")
    assert trimmer.maybe_trim() is True
    assert trimmer.maybe_trim() is False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_trimming_returns_freed_heap_to_the_system() -> None:
    trimmer = HeapTrimmer(every=0)
    if not trimmer.available:
        pytest.skip("no glibc malloc_trim")

    def rss_kb() -> int:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))

    trimmer.maybe_trim()
    # Many small blocks (below the mmap threshold) live on the heap; freed, glibc keeps them.
    blocks = [bytearray(4000) for _ in range(50_000)]
    keep = blocks[-1]
    del blocks
    before = rss_kb()
    trimmer.maybe_trim()
    after = rss_kb()
    assert keep is not None
    assert before - after > 50_000, (before, after)

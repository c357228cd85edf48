"""Entity and trace ids: format, uniqueness, and no id shared by a parent and its forked child."""

from __future__ import annotations

import os
import re
import sys

import pytest

from fluoro.core.models.segment import Segment
from fluoro.core.models.subsegment import Subsegment
from fluoro.core.models.traceid import new_entity_id, new_trace_id, trace_id_at

ENTITY_ID = re.compile(r"[0-9a-f]{16}")
TRACE_ID = re.compile(r"1-[0-9a-f]{8}-[0-9a-f]{24}")


def test_entity_ids_are_16_hex_digits_and_unique_across_pool_refills() -> None:
    ids = [new_entity_id() for _ in range(5000)]  # many refills of the 256-id pool
    ids += [Segment("s").id for _ in range(300)]
    ids += [Subsegment("x", "local", Segment("s")).id for _ in range(300)]
    assert all(ENTITY_ID.fullmatch(i) for i in ids)
    assert len(set(ids)) == len(ids)


def test_trace_id_epoch_is_the_segment_start() -> None:
    segment = Segment("s")
    assert TRACE_ID.fullmatch(segment.trace_id) and TRACE_ID.fullmatch(new_trace_id())
    assert int(segment.trace_id.split("-")[1], 16) == int(segment.start_time)


def test_trace_ids_are_unique_across_pool_refills_and_follow_the_epoch() -> None:
    """The time part follows each call's epoch (cached per second, never stale), the random
    part (pooled) never repeats."""
    epochs = [1_700_000_000.9, 1_700_000_000.1, 1_700_000_001.0, 1_700_000_000.5, 4_294_967_295.0, 268_435_456.0]
    ids = [trace_id_at(epochs[i % len(epochs)]) for i in range(3000)]  # many refills of the 256 pool
    ids += [Segment("s").trace_id for _ in range(300)]
    assert all(TRACE_ID.fullmatch(i) for i in ids)
    assert [int(i.split("-")[1], 16) for i in ids[:3000]] == [int(epochs[i % len(epochs)]) for i in range(3000)]
    assert len({i.split("-")[2] for i in ids}) == len(ids)


@pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "win32", reason="needs os.fork")
@pytest.mark.parametrize("make", [new_entity_id, lambda: new_trace_id().split("-")[2]], ids=["entity", "trace"])
def test_forked_child_never_reuses_the_parents_pooled_ids(make) -> None:  # type: ignore[no-untyped-def]
    make()  # the pool now holds ids the child inherits
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.write(write, "\n".join(make() for _ in range(100)).encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read) as pipe:
        child = set(pipe.read().split("\n"))
    parent = {make() for _ in range(100)}
    assert len(child) == 100 and not child & parent

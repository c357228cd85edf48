"""Entity and trace ids: format, uniqueness, and no id shared by a parent and its forked child."""

from __future__ import annotations

import os
import re
import sys

import pytest

from fluoro.core.models.segment import Segment
from fluoro.core.models.subsegment import Subsegment
from fluoro.core.models.traceid import new_entity_id, new_trace_id

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


@pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "win32", reason="needs os.fork")
def test_forked_child_never_reuses_the_parents_pooled_ids() -> None:
    new_entity_id()  # the pool now holds ids the child inherits
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.write(write, "".join(new_entity_id() for _ in range(100)).encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read) as pipe:
        data = pipe.read()
    child = {data[i:i + 16] for i in range(0, len(data), 16)}
    parent = {new_entity_id() for _ in range(100)}
    assert len(child) == 100 and not child & parent

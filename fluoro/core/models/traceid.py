"""X-Ray trace ids (``1-<epoch seconds, 8 hex>-<96 random bits, 24 hex>``) and entity ids.

Entity ids come from a pool filled 256 at a time from ``os.urandom`` (one system call,
one hex conversion with a separator every 8 bytes, one ``split``), so taking one is a ``list.pop``: several times
cheaper than formatting a fresh random number per subsegment. A forked child empties
its inherited pool, so parent and child never hand out the same ids. Hot paths inline
``try: _take_id() except IndexError: _refill_ids()`` to skip a function call.
"""

from __future__ import annotations

import os
import time
from random import getrandbits

_POOL_SIZE = 256
_id_pool: list[str] = []
_take_id = _id_pool.pop


def _refill_ids() -> str:
    """Fill the pool with fresh ids and return one of them.

    ``bytes.hex(" ", 8)`` puts a space between every 8 bytes and ``str.split`` cuts there:
    both in C, half the instructions of slicing the hex string 256 times through ``map``.
    """
    _id_pool.extend(os.urandom(8 * _POOL_SIZE).hex(" ", 8).split())
    return _take_id()


# The 96 random bits of trace ids, 24 hex digits each, pooled the same way.
_trace_bits_pool: list[str] = []
_take_trace_bits = _trace_bits_pool.pop


def _refill_trace_bits() -> str:
    """Fill the trace-id pool and return one value (``%024x`` of a random 96-bit number
    cost about 3,000 instructions per trace; a pooled one is a ``list.pop``)."""
    _trace_bits_pool.extend(os.urandom(12 * _POOL_SIZE).hex(" ", 12).split())
    return _take_trace_bits()


# ``"1-<epoch, 8 hex>-"`` for the last second seen: formatting it with ``%`` cost about
# 2,000 instructions per trace, and it changes once a second. One tuple, replaced whole,
# so a thread switch never pairs one second with another's prefix.
_epoch_prefix: tuple[int, str] = (0, "1-00000000-")


def trace_id_at(epoch: float) -> str:
    """A new trace id whose time part is ``epoch`` (a segment's start time)."""
    global _epoch_prefix
    try:
        bits = _take_trace_bits()
    except IndexError:
        bits = _refill_trace_bits()
    seconds = int(epoch)
    cached = _epoch_prefix
    if cached[0] != seconds:
        cached = _epoch_prefix = (seconds, "1-%08x-" % seconds)
    return cached[1] + bits


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_id_pool.clear)
    os.register_at_fork(after_in_child=_trace_bits_pool.clear)


def new_entity_id() -> str:
    """16 random hex digits."""
    try:
        return _take_id()
    except IndexError:
        return _refill_ids()


def new_trace_id() -> str:
    return trace_id_at(time.time())


class TraceId:
    VERSION = "1"
    DELIMITER = "-"

    def __init__(self) -> None:
        self.start_time = int(time.time())
        self.__number = "%024x" % getrandbits(96)

    def to_id(self) -> str:
        return "%s%s%s%s%s" % (self.VERSION, self.DELIMITER, format(self.start_time, "x"), self.DELIMITER, self.__number)

"""X-Ray trace ids (``1-<epoch seconds, 8 hex>-<96 random bits, 24 hex>``) and entity ids.

Ids come from ``random.getrandbits``, which Python reseeds in a forked child, so
parent and child processes never share ids; it is several times cheaper than
``os.urandom`` on the per-subsegment path.
"""

from __future__ import annotations

import time
from random import getrandbits


def new_entity_id() -> str:
    return getrandbits(64).to_bytes(8, "big").hex()


def new_trace_id() -> str:
    return "1-%08x-" % int(time.time()) + getrandbits(96).to_bytes(12, "big").hex()


class TraceId:
    VERSION = "1"
    DELIMITER = "-"

    def __init__(self) -> None:
        self.start_time = int(time.time())
        self.__number = "%024x" % getrandbits(96)

    def to_id(self) -> str:
        return "%s%s%s%s%s" % (self.VERSION, self.DELIMITER, format(self.start_time, "x"), self.DELIMITER, self.__number)

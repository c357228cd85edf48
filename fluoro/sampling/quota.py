"""How one rule's reservoir (requests/s for the whole fleet) is split among its clients.

Max-min fairness by demand: a client asking for less than an equal share gets
what it asks for, the others split the rest equally.  Integers throughout; the
split depends only on its inputs, so servers sharing a store compute the same
shares from the same snapshot.  The store's lease operation still caps every
grant by what other clients hold, so a stale snapshot never over-allocates.
"""

from __future__ import annotations

import math
from typing import Mapping

# Seconds between a client's GetSamplingTargets calls (what every SDK uses).
INTERVAL = 10
# A quota lives two intervals, so one late or lost report does not drop a client to
# borrowing; a client that went away frees its share at most this long after.
QUOTA_TTL = 2 * INTERVAL


def demand_per_second(request_count: int, interval: float = INTERVAL) -> int:
    """Requests/s a client reported over one interval, at least 1 (it is using the rule)."""
    return max(1, math.ceil(request_count / interval))


def fair_shares(capacity: int, demands: Mapping[str, int]) -> dict[str, int]:
    """Split ``capacity`` among clients; never more than ``capacity`` in total or a client's demand."""
    shares: dict[str, int] = {}
    remaining = max(0, capacity)
    ordered = sorted(demands.items(), key=lambda item: (item[1], item[0]))
    left = len(ordered)
    for client, demand in ordered:
        give = min(max(0, demand), remaining // left)
        shares[client] = give
        remaining -= give
        left -= 1
    return shares

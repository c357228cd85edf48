"""Centralized reservoir: a quota assigned by X-Ray (with a TTL), or one borrowed sample/s."""

from __future__ import annotations

import threading
from enum import Enum


class ReservoirDecision(Enum):
    """What the reservoir granted for one request."""

    TAKE = "take"
    BORROW = "borrow"
    NO = "no"


class Reservoir:
    """Thread-safe per-second accounting against the quota the service assigned to a rule.

    Until a quota arrives (or after its TTL passes) a rule with a non-zero reservoir may
    *borrow* one sample per second, so a fresh process still traces something.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._quota: int | None = None
        self._TTL: int | None = None
        self._this_sec = 0
        self._taken_this_sec = 0
        self._borrowed_this_sec = 0
        self._report_interval: float = 1
        self._report_elapsed = 0

    def borrow_or_take(self, now: int, can_borrow: bool) -> ReservoirDecision | None:
        """TAKE within a fresh quota, else BORROW (max 1/s) if allowed; NO/None otherwise."""
        with self._lock:
            return self._borrow_or_take(now, can_borrow)

    def load_quota(self, quota: int | None, TTL: int | None, interval: float | None) -> None:
        """Apply a target; ``None`` fields keep the previous value until it expires."""
        if quota is not None:
            self._quota = quota
        if TTL is not None:
            self._TTL = TTL
        if interval is not None:
            self._report_interval = interval / 10

    @property
    def quota(self) -> int | None:
        return self._quota

    @property
    def TTL(self) -> int | None:
        return self._TTL

    def _time_to_report(self) -> bool:
        """Count target-poller ticks (10 s each); report every ``Interval / 10`` ticks."""
        if self._report_elapsed + 1 >= self._report_interval:
            self._report_elapsed = 0
            return True
        self._report_elapsed += 1
        return False

    def _borrow_or_take(self, now: int, can_borrow: bool) -> ReservoirDecision | None:
        if now != self._this_sec:
            self._taken_this_sec = 0
            self._borrowed_this_sec = 0
            self._this_sec = now
        quota = self._quota
        ttl = self._TTL
        if quota is not None and quota >= 0 and ttl is not None and ttl >= now:
            if self._taken_this_sec >= quota:
                return ReservoirDecision.NO
            self._taken_this_sec += 1
            return ReservoirDecision.TAKE
        if can_borrow:
            if self._borrowed_this_sec >= 1:
                return ReservoirDecision.NO
            self._borrowed_this_sec += 1
            return ReservoirDecision.BORROW
        return None

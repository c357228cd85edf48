"""One centralized sampling rule as fetched from ``GetSamplingRules``, plus its live statistics."""

from __future__ import annotations

import threading

from ..utils.search_pattern import wildcard_match
from .reservoir import Reservoir


class SamplingRule:
    """Matching criteria, rate and reservoir of a rule, and the counters reported back to X-Ray."""

    def __init__(
        self,
        name: str,
        priority: float,
        rate: float,
        reservoir_size: int,
        host: str | None = None,
        method: str | None = None,
        path: str | None = None,
        service: str | None = None,
        service_type: str | None = None,
    ) -> None:
        self._name = name
        self._priority = priority
        self._rate = rate
        self._can_borrow = bool(reservoir_size)
        self._host = host
        self._method = method
        self._path = path
        self._service = service
        self._service_type = service_type
        self._reservoir: Reservoir = Reservoir()
        self._lock = threading.Lock()
        self._request_count = 0
        self._borrow_count = 0
        self._sampled_count = 0

    def match(self, sampling_req: dict | None) -> bool:
        """True if every field present (truthy) in the request matches; absent fields match."""
        if sampling_req is None:
            return False
        get = sampling_req.get
        host = get("host")
        if host and not wildcard_match(self._host, host):
            return False
        method = get("method")
        if method and not wildcard_match(self._method, method):
            return False
        path = get("path")
        if path and not wildcard_match(self._path, path):
            return False
        service = get("service")
        if service and not wildcard_match(self._service, service):
            return False
        service_type = get("service_type")
        return not service_type or wildcard_match(self._service_type, service_type)

    def is_default(self) -> bool:
        # ``Default`` is the reserved name of the catch-all rule on the X-Ray back end.
        return self._name == "Default"

    def snapshot_statistics(self) -> dict[str, int]:
        """Return and reset the counters, for one ``SamplingStatisticsDocument``."""
        with self._lock:
            stats = {
                "request_count": self._request_count,
                "borrow_count": self._borrow_count,
                "sampled_count": self._sampled_count,
            }
            self._reset_statistics()
        return stats

    def merge(self, rule: SamplingRule) -> None:
        """Carry counters and reservoir over from the previous version of this rule."""
        with self._lock:
            self._request_count = rule.request_count
            self._borrow_count = rule.borrow_count
            self._sampled_count = rule.sampled_count
            # Share (rather than detach, as upstream does) the reservoir: a decision racing
            # with the refresh may still hold the old rule and must not find ``None``.
            self._reservoir = rule.reservoir

    def ever_matched(self) -> bool:
        """True if a request matched this rule since the last report."""
        return self._request_count > 0

    def time_to_report(self) -> bool:
        """True if this rule's reporting interval has come round."""
        return self._reservoir._time_to_report()

    def increment_request_count(self) -> None:
        with self._lock:
            self._request_count += 1

    def increment_borrow_count(self) -> None:
        with self._lock:
            self._borrow_count += 1

    def increment_sampled_count(self) -> None:
        with self._lock:
            self._sampled_count += 1

    def _reset_statistics(self) -> None:
        self._request_count = 0
        self._borrow_count = 0
        self._sampled_count = 0

    @property
    def rate(self) -> float:
        return self._rate

    @rate.setter
    def rate(self, v: float) -> None:
        self._rate = v

    @property
    def name(self) -> str:
        return self._name

    @property
    def priority(self) -> float:
        return self._priority

    @property
    def reservoir(self) -> Reservoir:
        return self._reservoir

    @reservoir.setter
    def reservoir(self, v: Reservoir) -> None:
        self._reservoir = v

    @property
    def can_borrow(self) -> bool:
        return self._can_borrow

    @property
    def request_count(self) -> int:
        return self._request_count

    @property
    def borrow_count(self) -> int:
        return self._borrow_count

    @property
    def sampled_count(self) -> int:
        return self._sampled_count

    def __repr__(self) -> str:
        return f"SamplingRule(name={self._name!r}, priority={self._priority!r}, rate={self._rate!r})"

"""The current centralized rules, ordered by priority, with a one-hour staleness limit."""

from __future__ import annotations

import threading

from .sampling_rule import SamplingRule

TTL = 60 * 60  # Rules older than an hour are not trusted; the local rules take over.


def _sort_key(rule: SamplingRule) -> tuple:
    return (rule.priority, rule.name)


class RuleCache:
    """Rules and quotas maintained by the pollers; reads are lock-free list snapshots."""

    def __init__(self) -> None:
        self._last_updated: int | None = None
        self._rules: list[SamplingRule] = []
        self._lock = threading.Lock()

    def get_matched_rule(self, sampling_req: dict | None, now: int) -> SamplingRule | None:
        """First rule (by priority, name) that matches or is ``Default``; None if stale."""
        if self._is_expired(now):
            return None
        for rule in self._rules:
            if rule.match(sampling_req) or rule.is_default():
                return rule
        return None

    def load_rules(self, rules: list[SamplingRule]) -> None:
        """Replace the rules, keeping statistics and reservoirs of rules that survive."""
        with self._lock:
            old = {rule.name: rule for rule in self._rules}
            for rule in rules:
                previous = old.get(rule.name)
                if previous is not None and previous is not rule:
                    rule.merge(previous)
            # Priority first; names are unique so they break ties deterministically.
            self._rules = sorted(rules, key=_sort_key)

    def load_targets(self, targets_dict: dict[str, dict]) -> None:
        """Apply ``{rule_name: {'rate', 'quota', 'TTL', 'interval'}}`` from ``GetSamplingTargets``."""
        with self._lock:
            for rule in self._rules:
                target = targets_dict.get(rule.name)
                if not target:
                    continue
                rule.reservoir.load_quota(target.get("quota"), target.get("TTL"), target.get("interval"))
                rate = target.get("rate")
                if rate is not None:
                    rule.rate = rate

    def _is_expired(self, now: int) -> bool:
        # Never loaded counts as expired.
        last = self._last_updated
        if not last:
            return True
        return now > last + TTL

    @property
    def rules(self) -> list[SamplingRule]:
        return self._rules

    @rules.setter
    def rules(self, v: list[SamplingRule]) -> None:
        self._rules = v

    @property
    def last_updated(self) -> int | None:
        return self._last_updated

    @last_updated.setter
    def last_updated(self, v: int | None) -> None:
        self._last_updated = v

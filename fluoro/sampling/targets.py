"""GetSamplingTargets: record the reported statistics, lease each reporting client its quota.

Input is already validated by the API layer; this module only speaks the
``ConfigStore`` contract, so it works unchanged on any backend.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from fluoro.sampling.quota import INTERVAL, QUOTA_TTL, demand_per_second, fair_shares
from fluoro.store.api import ConfigStore, StatisticsRow

# GetSamplingStatisticSummaries reports windows of this age or younger.
STATISTICS_KEPT = 3600.0


@dataclass(frozen=True)
class StatisticsReport:
    """One ``SamplingStatisticsDocuments`` entry."""

    rule: str
    client_id: str
    timestamp: float
    request_count: int
    sampled_count: int
    borrow_count: int


def window_start(now: float) -> float:
    """The 10-second window ``now`` falls in."""
    return float(math.floor(now / INTERVAL) * INTERVAL)


def assign_targets(store: ConfigStore, reports: list[StatisticsReport], now: float) -> dict[str, Any]:
    """The GetSamplingTargets response for ``reports`` received at ``now``."""
    rules = {r.name: r.rule for r in store.list_rules()}
    known = [r for r in reports if r.rule in rules]
    unprocessed = [
        {"RuleName": r.rule, "ErrorCode": "400", "Message": "Unknown rule"} for r in reports if r.rule not in rules
    ]
    window = window_start(now)
    store.add_statistics(
        [StatisticsRow(r.rule, window, r.request_count, r.sampled_count, r.borrow_count) for r in known],
        keep_after=now - STATISTICS_KEPT,
    )
    expires = float(math.floor(now) + QUOTA_TTL)
    targets: dict[str, dict[str, Any]] = {}
    for report in known:
        rule = rules[report.rule]
        capacity = int(rule["ReservoirSize"])
        demand = demand_per_second(report.request_count)
        demands = {c.client_id: max(1, math.ceil(c.demand)) for c in store.active_clients(report.rule, now)}
        demands[report.client_id] = demand
        want = fair_shares(capacity, demands)[report.client_id]
        granted = store.lease_quota(report.rule, report.client_id, want, capacity, demand, now, expires)
        targets[report.rule] = {
            "RuleName": report.rule,
            "FixedRate": float(rule["FixedRate"]),
            "ReservoirQuota": granted,
            "ReservoirQuotaTTL": expires,
            "Interval": INTERVAL,
        }
    return {
        "SamplingTargetDocuments": list(targets.values()),
        # Rounded up to the second: SDKs truncate it and their last fetch time to whole
        # seconds before comparing, so a change in the second of a fetch would otherwise
        # look older than the fetch and wait for the 5-minute rule poll.
        "LastRuleModification": float(math.ceil(store.rules_modified())),
        "UnprocessedStatistics": unprocessed,
    }


def statistic_summaries(store: ConfigStore, now: float) -> list[dict[str, Any]]:
    """Per rule and 10-second window, newest first, for the last ``STATISTICS_KEPT`` seconds."""
    return [
        {
            "RuleName": row.rule,
            "Timestamp": row.window_start,
            "RequestCount": row.request_count,
            "BorrowCount": row.borrow_count,
            "SampledCount": row.sampled_count,
        }
        for row in store.statistics(since=now - STATISTICS_KEPT)
    ]

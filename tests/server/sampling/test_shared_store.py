"""Two API instances on one store behave as one service: nothing lives in a process's memory.

(Several server processes on one ClickHouse is issue 9; a DuckDB file has one owner, so
here two independent apps share the store inside one process.)
"""

from __future__ import annotations

import time
from typing import Any, Iterator

import httpx
import pytest

from fluoro.api import ApiContext, build_app
from fluoro.store import open_store
from fluoro.store.api import Store


@pytest.fixture
def store() -> Iterator[Store]:
    s = open_store("memory")
    yield s
    s.close()


def app(store: Store) -> httpx.AsyncClient:
    ctx = ApiContext(None, None, None, store.config_store())  # type: ignore[arg-type]  # config ops only
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(ctx)), base_url="http://fluoro")


async def test_two_servers_one_store(store: Store) -> None:
    one, two = app(store), app(store)
    # Both seeded Default; there is still one Default rule and one Default group.
    rules = (await two.post("/GetSamplingRules", content=b"")).json()["SamplingRuleRecords"]
    assert [r["SamplingRule"]["RuleName"] for r in rules] == ["Default"]
    assert [g["GroupName"] for g in (await one.post("/Groups", json={})).json()["Groups"]] == ["Default"]
    assert (await one.post("/Groups", json={})).json() == (await two.post("/Groups", json={})).json()

    rule = {"RuleName": "shared", "ResourceARN": "*", "Priority": 1, "FixedRate": 0.1, "ReservoirSize": 6,
            "ServiceName": "*", "ServiceType": "*", "Host": "*", "HTTPMethod": "*", "URLPath": "*", "Version": 1}  # fmt: skip
    assert (await one.post("/CreateSamplingRule", json={"SamplingRule": rule})).status_code == 200
    dup = await two.post("/CreateSamplingRule", json={"SamplingRule": rule})
    assert dup.status_code == 400 and dup.json()["message"] == "Sampling rule already exists"
    assert (await two.post("/UpdateSamplingRule", json={"SamplingRuleUpdate": {"RuleName": "shared", "ReservoirSize": 4}})).status_code == 200

    async def report(client: httpx.AsyncClient, cid: str) -> dict[str, Any]:
        doc = {"RuleName": "shared", "ClientID": cid * 24, "Timestamp": time.time(), "RequestCount": 1000, "SampledCount": 1}
        return (await client.post("/SamplingTargets", json={"SamplingStatisticsDocuments": [doc]})).json()

    # Clients of different servers share one reservoir (now 4, as updated through the other server).
    quotas = {}
    for _ in range(3):
        for client, cid in ((one, "a"), (two, "b")):
            quotas[cid] = (await report(client, cid))["SamplingTargetDocuments"][0]["ReservoirQuota"]
            assert sum(quotas.values()) <= 4
    assert quotas == {"a": 2, "b": 2}
    summaries = (await one.post("/SamplingStatisticSummaries", json={})).json()["SamplingStatisticSummaries"]
    assert sum(s["RequestCount"] for s in summaries if s["RuleName"] == "shared") == 6000
    assert (await report(one, "a"))["LastRuleModification"] == (await report(two, "b"))["LastRuleModification"]

"""Random request bodies for the sampling, group and tag operations: always a 2xx or a
botocore-parsable 4xx, never a 500, and the Default rule and group survive."""

from __future__ import annotations

from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fluoro.server import FluoroServer

PATHS = ["/GetSamplingRules", "/CreateSamplingRule", "/UpdateSamplingRule", "/DeleteSamplingRule",
         "/SamplingTargets", "/SamplingStatisticSummaries", "/CreateGroup", "/GetGroup", "/Groups",
         "/UpdateGroup", "/DeleteGroup", "/TagResource", "/UntagResource", "/ListTagsForResource"]  # fmt: skip
KEYS = ["SamplingRule", "SamplingRuleUpdate", "RuleName", "RuleARN", "Tags", "TagKeys", "ResourceARN", "NextToken",
        "SamplingStatisticsDocuments", "SamplingBoostStatisticsDocuments", "GroupName", "GroupARN",
        "FilterExpression", "InsightsConfiguration", "Priority", "FixedRate", "ReservoirSize", "ClientID",
        "Timestamp", "RequestCount", "SampledCount", "Key", "Value", "Attributes", "Version"]  # fmt: skip

scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False, allow_infinity=False),
                    st.text(max_size=40), st.sampled_from(["Default", "*", "arn:aws:xray:us-east-1:000000000000:sampling-rule/Default"]))  # fmt: skip
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(st.sampled_from(KEYS), inner, max_size=6)),
                      max_leaves=20)  # fmt: skip
bodies = st.dictionaries(st.sampled_from(KEYS), values, max_size=6)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(PATHS), body=bodies)
def test_random_bodies_never_fail_the_server(server: FluoroServer, path: str, body: dict[str, Any]) -> None:
    resp = httpx.post(f"http://127.0.0.1:{server.port}{path}", json=body)
    assert resp.status_code < 500, (path, body, resp.text)
    if resp.status_code >= 400:
        assert resp.headers["x-amzn-errortype"] and resp.json()["message"]


def test_defaults_survive(xray: Any) -> None:
    assert "Default" in [r["SamplingRule"]["RuleName"] for r in xray.get_sampling_rules()["SamplingRuleRecords"]]
    assert "Default" in [g["GroupName"] for g in xray.get_groups()["Groups"]]

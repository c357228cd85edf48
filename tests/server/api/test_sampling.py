"""Sampling rules, targets and statistics through boto3 and raw HTTP (SDK wire quirks)."""

from __future__ import annotations

import json
import time
from typing import Any, Iterator

import botocore.session
import httpx
import pytest

from fluoro.api.validate import timestamp
from fluoro.server import FluoroServer

from ..helpers import load_fixture

MODEL = botocore.session.get_session().get_service_model("xray")
RULE_SHAPE = MODEL.shape_for("SamplingRule")


def base_rule(name: str, **members: Any) -> dict[str, Any]:
    return {"RuleName": name, "ResourceARN": "*", "Priority": 100, "FixedRate": 0.1, "ReservoirSize": 4,
            "ServiceName": "*", "ServiceType": "*", "Host": "*", "HTTPMethod": "*", "URLPath": "*",
            "Version": 1, **members}  # fmt: skip


def post(server: FluoroServer, path: str, body: Any = None, raw: bytes | None = None,
         headers: dict[str, str] | None = None) -> httpx.Response:  # fmt: skip
    content = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    return httpx.post(f"http://127.0.0.1:{server.port}{path}", content=content, headers=headers or {})


@pytest.fixture
def rules(xray: Any) -> Iterator[list[str]]:
    """Names created by a test; deleted afterwards so tests in this module stay independent."""
    names: list[str] = []
    yield names
    for name in names:
        try:
            xray.delete_sampling_rule(RuleName=name)
        except xray.exceptions.InvalidRequestException:
            pass


@pytest.fixture
def restore_default(xray: Any) -> Iterator[None]:
    yield
    xray.update_sampling_rule(SamplingRuleUpdate={"RuleName": "Default", "FixedRate": 0.05, "ReservoirSize": 1})


def test_default_rule(xray: Any) -> None:
    (record,) = [r for r in xray.get_sampling_rules()["SamplingRuleRecords"] if r["SamplingRule"]["RuleName"] == "Default"]
    rule = record["SamplingRule"]
    assert rule["RuleARN"] == "arn:aws:xray:us-east-1:000000000000:sampling-rule/Default"
    assert (rule["Priority"], rule["FixedRate"], rule["ReservoirSize"], rule["Version"], rule["Attributes"]) == (10000, 0.05, 1, 1, {})
    assert all(rule[k] == "*" for k in ("ResourceARN", "ServiceName", "ServiceType", "Host", "HTTPMethod", "URLPath"))
    assert record["CreatedAt"].timestamp() == 0.0


def test_create_update_delete_round_trip(xray: Any, rules: list[str]) -> None:
    request = load_fixture("sampling", "awscli-create-sampling-rule-request.json")
    expected = load_fixture("sampling", "awscli-create-sampling-rule-response.json")["SamplingRuleRecord"]
    created = xray.create_sampling_rule(**request, Tags=[{"Key": "team", "Value": "scorekeep"}])["SamplingRuleRecord"]
    rules.append("base-scorekeep")
    assert set(created) == set(expected) and set(created["SamplingRule"]) == set(expected["SamplingRule"])
    for key, value in expected["SamplingRule"].items():
        if key != "RuleARN":
            assert created["SamplingRule"][key] == value, key
    assert created["SamplingRule"]["RuleARN"].endswith(":sampling-rule/base-scorekeep")
    assert created["CreatedAt"] == created["ModifiedAt"]
    with pytest.raises(xray.exceptions.InvalidRequestException, match="Sampling rule already exists"):
        xray.create_sampling_rule(**request)

    updated = xray.update_sampling_rule(SamplingRuleUpdate={
        "RuleARN": created["SamplingRule"]["RuleARN"], "FixedRate": 0.5, "URLPath": "/api/*", "Attributes": {"a": "b"}
    })["SamplingRuleRecord"]  # fmt: skip
    assert updated["SamplingRule"]["FixedRate"] == 0.5 and updated["SamplingRule"]["URLPath"] == "/api/*"
    assert updated["SamplingRule"]["Attributes"] == {"a": "b"} and updated["SamplingRule"]["ServiceName"] == "Scorekeep"
    assert updated["CreatedAt"] == created["CreatedAt"] and updated["ModifiedAt"] > created["ModifiedAt"]
    listed = {r["SamplingRule"]["RuleName"]: r for r in xray.get_sampling_rules()["SamplingRuleRecords"]}
    assert listed["base-scorekeep"]["SamplingRule"] == updated["SamplingRule"]
    tags = xray.list_tags_for_resource(ResourceARN=created["SamplingRule"]["RuleARN"])["Tags"]
    assert tags == [{"Key": "team", "Value": "scorekeep"}]

    deleted = xray.delete_sampling_rule(RuleName="base-scorekeep")["SamplingRuleRecord"]
    assert deleted["SamplingRule"]["FixedRate"] == 0.5
    with pytest.raises(xray.exceptions.InvalidRequestException, match="Sampling rule does not exist"):
        xray.delete_sampling_rule(RuleName="base-scorekeep")
    with pytest.raises(xray.exceptions.InvalidRequestException, match="Sampling rule does not exist"):
        xray.update_sampling_rule(SamplingRuleUpdate={"RuleName": "base-scorekeep", "FixedRate": 0.1})
    with pytest.raises(xray.exceptions.ResourceNotFoundException):
        xray.list_tags_for_resource(ResourceARN=created["SamplingRule"]["RuleARN"])


def test_rules_are_listed_in_creation_order(xray: Any, rules: list[str]) -> None:
    """As in the CLI's documented get-sampling-rules output (Default, created at 0, first)."""
    for name, priority in (("prio-b", 50), ("prio-a", 50), ("prio-c", 1)):
        xray.create_sampling_rule(SamplingRule=base_rule(name, Priority=priority))
        rules.append(name)
    names = [r["SamplingRule"]["RuleName"] for r in xray.get_sampling_rules()["SamplingRuleRecords"]]
    assert names == ["Default", "prio-b", "prio-a", "prio-c"]


def test_statistic_summaries_tokens(server: FluoroServer) -> None:
    assert post(server, "/SamplingStatisticSummaries", raw=b'{"NextToken":null}').status_code == 200
    bad = post(server, "/SamplingStatisticSummaries", {"NextToken": "not-a-token"})
    assert bad.status_code == 400 and bad.json()["message"] == "NextToken is invalid"


def test_default_rule_only_rate_and_reservoir_change(xray: Any, restore_default: None) -> None:
    request = load_fixture("sampling", "awscli-update-sampling-rule-request.json")
    rule = xray.update_sampling_rule(**request)["SamplingRuleRecord"]["SamplingRule"]
    assert (rule["FixedRate"], rule["ReservoirSize"], rule["Priority"]) == (0.01, 0, 10000)
    with pytest.raises(xray.exceptions.InvalidRequestException, match="Only the reservoir size and fixed rate"):
        xray.update_sampling_rule(SamplingRuleUpdate={"RuleName": "Default", "ServiceName": "x"})
    with pytest.raises(xray.exceptions.InvalidRequestException, match="default sampling rule cannot be deleted"):
        xray.delete_sampling_rule(RuleName="Default")
    # Restating an unchanged member is not a change.
    xray.update_sampling_rule(SamplingRuleUpdate={"RuleName": "Default", "Host": "*", "FixedRate": 0.02})


def test_rule_limit(xray: Any, rules: list[str]) -> None:
    existing = len(xray.get_sampling_rules()["SamplingRuleRecords"]) - 1
    for i in range(25 - existing):
        xray.create_sampling_rule(SamplingRule=base_rule(f"limit-{i}"))
        rules.append(f"limit-{i}")
    with pytest.raises(xray.exceptions.RuleLimitExceededException, match="maximum number of custom sampling rules"):
        xray.create_sampling_rule(SamplingRule=base_rule("one-too-many"))
    assert len(xray.get_sampling_rules()["SamplingRuleRecords"]) == 26


def _limits() -> list[tuple[str, Any, Any]]:
    """(member, largest accepted value, smallest refused value) from the botocore model."""
    cases: list[tuple[str, Any, Any]] = []
    for name, shape in RULE_SHAPE.members.items():
        meta = shape.metadata
        if shape.type_name == "string" and "max" in meta:
            cases.append((name, "a" * meta["max"], "a" * (meta["max"] + 1)))
        elif shape.type_name in ("integer", "double") and "max" in meta:
            cases.append((name, meta["max"], meta["max"] + (1 if shape.type_name == "integer" else 0.01)))
        if shape.type_name in ("integer", "double") and "min" in meta:
            cases.append((name, meta["min"], meta["min"] - 1))
        if shape.type_name == "map":
            n, k, v = meta["max"], shape.key.metadata["max"], shape.value.metadata["max"]
            ok = {f"{i}".rjust(k, "k"): "v" * v for i in range(n)}
            cases.append((name, ok, {**ok, "extra": "v"}))
    return cases


@pytest.mark.parametrize(("member", "accepted", "refused"), _limits(), ids=lambda v: v if isinstance(v, str) and len(v) < 20 else "")
def test_model_limits(server: FluoroServer, xray: Any, rules: list[str], member: str, accepted: Any, refused: Any) -> None:
    if member == "RuleName":
        accepted, refused = "n" * 32, "n" * 33
    name = "limit" if member != "RuleName" else accepted
    body = {"SamplingRule": base_rule(name, **{member: accepted})}
    ok = post(server, "/CreateSamplingRule", body)
    assert ok.status_code == 200, ok.text
    rules.append(name)
    stored = ok.json()["SamplingRuleRecord"]["SamplingRule"][member]
    assert stored == accepted
    bad_body = {"SamplingRule": base_rule("limit-bad" if member != "RuleName" else refused, **{member: refused})}
    bad = post(server, "/CreateSamplingRule", bad_body)
    assert bad.status_code == 400 and bad.headers["x-amzn-errortype"] == "InvalidRequestException"
    assert member in bad.json()["message"]


@pytest.mark.parametrize(("change", "message"), [
    ({"RuleName": "has space"}, "SamplingRule.RuleName may contain only"),
    ({"Priority": None}, "SamplingRule.Priority is required"),
    ({"FixedRate": "0.5"}, "SamplingRule.FixedRate must be a number"),
    ({"ReservoirSize": 1.5}, "SamplingRule.ReservoirSize must be an integer"),
    ({"Attributes": {"k": ""}}, "SamplingRule.Attributes.k must be at least 1"),
    ({"SamplingRateBoost": {"MaxRate": 0.5}}, "SamplingRateBoost.CooldownWindowMinutes is required"),
    ({"Colour": "red"}, "SamplingRule.Colour is not a member"),
])  # fmt: skip
def test_bad_rules_are_refused_precisely(server: FluoroServer, change: dict[str, Any], message: str) -> None:
    rule = {k: v for k, v in {**base_rule("bad"), **change}.items() if v is not None}
    resp = post(server, "/CreateSamplingRule", {"SamplingRule": rule})
    assert resp.status_code == 400 and message in resp.json()["message"]


def test_targets_share_the_reservoir_among_clients(xray: Any, rules: list[str]) -> None:
    xray.create_sampling_rule(SamplingRule=base_rule("shared", ReservoirSize=10, FixedRate=0.25))
    rules.append("shared")
    created = time.time()

    def report(client: str, requests: int = 500) -> dict[str, Any]:
        doc = {"RuleName": "shared", "ClientID": client * 24, "Timestamp": time.time(), "RequestCount": requests,
               "SampledCount": 10, "BorrowCount": 1}  # fmt: skip
        out = xray.get_sampling_targets(SamplingStatisticsDocuments=[doc])
        assert out["UnprocessedStatistics"] == []
        (target,) = out["SamplingTargetDocuments"]
        assert target["RuleName"] == "shared" and target["FixedRate"] == 0.25 and target["Interval"] == 10
        assert 10 <= target["ReservoirQuotaTTL"].timestamp() - time.time() <= 21
        assert out["LastRuleModification"].timestamp() >= created - 1
        return target

    assert report("a")["ReservoirQuota"] == 10  # alone: the whole reservoir
    assert report("b")["ReservoirQuota"] == 0  # a still holds it until it reports again
    assert report("a")["ReservoirQuota"] == 5  # a's fair half
    assert report("b")["ReservoirQuota"] == 5
    assert report("c", requests=10)["ReservoirQuota"] == 0  # a, b hold everything
    assert report("a")["ReservoirQuota"] == 4  # max-min: c needs 1/s, a and b split the other 9
    assert report("b")["ReservoirQuota"] == 5
    assert report("c", requests=10)["ReservoirQuota"] == 1

    summaries = [s for s in xray.get_sampling_statistic_summaries()["SamplingStatisticSummaries"]
                 if s["RuleName"] == "shared"]  # fmt: skip
    assert sum(s["RequestCount"] for s in summaries) == 6 * 500 + 2 * 10
    assert sum(s["SampledCount"] for s in summaries) == 80 and sum(s["BorrowCount"] for s in summaries) == 8
    assert all(s["Timestamp"].timestamp() % 10 == 0 for s in summaries)


def test_targets_for_unknown_rules_are_unprocessed(xray: Any) -> None:
    doc = {"RuleName": "cats-rule", "ClientID": "A" * 24, "Timestamp": time.time(), "RequestCount": 1, "SampledCount": 0}
    out = xray.get_sampling_targets(SamplingStatisticsDocuments=[doc])
    assert out["SamplingTargetDocuments"] == []
    assert out["UnprocessedStatistics"] == [{"RuleName": "cats-rule", "ErrorCode": "400", "Message": "Unknown rule"}]


def test_rule_change_moves_last_rule_modification(xray: Any, rules: list[str]) -> None:
    time.sleep(1.01)  # each change below lands in a later second than the one before
    doc = {"RuleName": "Default", "ClientID": "D" * 24, "Timestamp": time.time(), "RequestCount": 1, "SampledCount": 1}
    before = xray.get_sampling_targets(SamplingStatisticsDocuments=[doc])["LastRuleModification"]
    xray.create_sampling_rule(SamplingRule=base_rule("mover"))
    rules.append("mover")
    after = xray.get_sampling_targets(SamplingStatisticsDocuments=[doc])["LastRuleModification"]
    time.sleep(1.01)
    xray.delete_sampling_rule(RuleName="mover")
    rules.remove("mover")
    deleted = xray.get_sampling_targets(SamplingStatisticsDocuments=[doc])["LastRuleModification"]
    assert before < after < deleted
    # Whole seconds, rounded up: SDKs compare int(LastRuleModification) > int(last fetch time).
    modified = next(r for r in xray.get_sampling_rules()["SamplingRuleRecords"]
                    if r["SamplingRule"]["RuleName"] == "Default")["ModifiedAt"].timestamp()  # fmt: skip
    assert after.timestamp() == int(after.timestamp()) and deleted.timestamp() >= modified


@pytest.mark.parametrize(("doc", "message"), [
    ({"ClientID": "short"}, "ClientID must be at least 24"),
    ({"RuleName": None}, "RuleName is required"),
    ({"Timestamp": "yesterday"}, "Timestamp must be a timestamp"),
    ({"RequestCount": -1}, "RequestCount must be at least 0"),
])  # fmt: skip
def test_bad_statistics_are_refused(server: FluoroServer, doc: dict[str, Any], message: str) -> None:
    base = {"RuleName": "Default", "ClientID": "E" * 24, "Timestamp": 1, "RequestCount": 1, "SampledCount": 0}
    body = {"SamplingStatisticsDocuments": [{k: v for k, v in {**base, **doc}.items() if v is not None}]}
    resp = post(server, "/SamplingTargets", body)
    assert resp.status_code == 400 and message in resp.json()["message"]
    too_many = post(server, "/SamplingTargets", {"SamplingStatisticsDocuments": [base] * 26})
    assert too_many.status_code == 400 and "at most 25" in too_many.json()["message"]


# -- wire quirks of the Go, Node, Java and Python SDKs (raw HTTP, as those SDKs send it) ----------


def _assert_rules_body(resp: httpx.Response) -> None:
    assert resp.status_code == 200, resp.text
    records = resp.json()["SamplingRuleRecords"]
    assert records
    for record in records:
        assert isinstance(record["CreatedAt"], (int, float)) and isinstance(record["ModifiedAt"], (int, float))
        rule = record["SamplingRule"]
        assert rule["Attributes"] == {} or isinstance(rule["Attributes"], dict)
        assert "Attributes" in rule and rule["Version"] == 1


def test_go_sdk_rules_request_null_token_no_content_type(server: FluoroServer) -> None:
    resp = post(server, "/GetSamplingRules", raw=b'{"NextToken":null}')
    _assert_rules_body(resp)
    assert "NextToken" not in resp.json()


def test_node_sdk_empty_object_and_bare_empty_body(server: FluoroServer) -> None:
    _assert_rules_body(post(server, "/GetSamplingRules", raw=b"{}", headers={"Content-Type": "application/json"}))
    _assert_rules_body(post(server, "/GetSamplingRules", raw=b""))


def test_unknown_next_token_is_refused(server: FluoroServer) -> None:
    resp = post(server, "/GetSamplingRules", {"NextToken": "bogus"})
    assert resp.status_code == 400 and "NextToken" in resp.json()["message"]


def test_java_millisecond_timestamps_and_numeric_response(server: FluoroServer, xray: Any, rules: list[str]) -> None:
    xray.create_sampling_rule(SamplingRule=base_rule("Test", ReservoirSize=3))
    rules.append("Test")
    body = load_fixture("sampling", "otel-java-get-sampling-targets-request-millis.json")
    resp = post(server, "/SamplingTargets", body, headers={"Content-Type": "application/json"})
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert isinstance(out["LastRuleModification"], float)
    (target,) = out["SamplingTargetDocuments"]
    assert target["RuleName"] == "Test" and isinstance(target["ReservoirQuotaTTL"], float)
    assert out["UnprocessedStatistics"] == [{"RuleName": "polling-scorekeep", "ErrorCode": "400", "Message": "Unknown rule"}]


def test_devguide_iso_timestamps(server: FluoroServer, xray: Any, rules: list[str]) -> None:
    xray.create_sampling_rule(**load_fixture("sampling", "awscli-create-sampling-rule-request.json"))
    rules.append("base-scorekeep")
    body = load_fixture("sampling", "devguide-get-sampling-targets-request.json")
    resp = post(server, "/SamplingTargets", body)
    assert resp.status_code == 200, resp.text
    assert [t["RuleName"] for t in resp.json()["SamplingTargetDocuments"]] == ["base-scorekeep"]


def test_boost_statistics_are_checked_and_reported_unprocessed(server: FluoroServer) -> None:
    boost = {"RuleName": "Default", "ServiceName": "svc", "Timestamp": 1.7e9, "AnomalyCount": 1, "TotalCount": 9,
             "SampledAnomalyCount": 1}  # fmt: skip
    resp = post(server, "/SamplingTargets", {"SamplingStatisticsDocuments": [], "SamplingBoostStatisticsDocuments": [boost]})
    assert resp.status_code == 200
    assert resp.json()["UnprocessedBoostStatistics"][0]["RuleName"] == "Default"


def test_timestamp_forms() -> None:
    assert timestamp(1624257967000, "T") == 1624257967.0  # Java: milliseconds
    assert timestamp(1624257967, "T") == timestamp(1624257967.0, "T") == timestamp("1624257967", "T")
    assert timestamp("2021-06-21T06:46:07Z", "T") == 1624257967.0
    assert timestamp("2021-06-21T15:46:07+09:00", "T") == 1624257967.0

"""The filter language through a real server and boto3: documented examples, root causes, errors."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from ..query.filter_scenarios import EXPECTED, build

BASE = int(time.time()) // 60 * 60 - 5 * 3600
_LOADED: dict[str, dict[str, str]] = {}


def scenario(xray: Any) -> dict[str, str]:
    server = xray.meta.endpoint_url  # loaded once per server (backend)
    if server not in _LOADED:
        ids, docs = build(BASE)
        result = xray.put_trace_segments(TraceSegmentDocuments=[json.dumps(d) for d in docs])
        assert result["UnprocessedTraceSegments"] == []
        _LOADED[server] = ids
    return _LOADED[server]


def summaries(xray: Any, expression: str) -> list[dict[str, Any]]:
    pages = xray.get_paginator("get_trace_summaries").paginate(
        StartTime=BASE - 10, EndTime=BASE + 300, FilterExpression=expression
    )
    return [s for page in pages for s in page["TraceSummaries"]]


# The documented examples name groups (high_response_time, ...) that this server does not have
# (underscores are not valid in group names), and an unknown group selects nothing; groups
# stored with CreateGroup are tested below.
_SERVER_EXPECTED = [(e, set() if e.startswith("group.") else want) for e, want in EXPECTED]


@pytest.mark.parametrize("expression, expected", _SERVER_EXPECTED, ids=[e for e, _ in EXPECTED])
def test_documented_examples_through_boto3(xray: Any, expression: str, expected: set[str]) -> None:
    ids = scenario(xray)
    names = {v: k for k, v in ids.items()}
    assert {names[s["Id"]] for s in summaries(xray, expression)} == expected


def test_root_causes_come_back_in_botocore_shapes(xray: Any) -> None:
    ids = scenario(xray)
    [summary] = [s for s in summaries(xray, "fault") if s["Id"] == ids["C"]]
    [cause] = summary["FaultRootCauses"]
    assert cause["ClientImpacting"] is True
    entity = cause["Services"][-1]["EntityPath"][-1]
    assert entity == {"Name": "deserialize", "Remote": False,
                      "Exceptions": [{"Name": "ValueError", "Message": "Access Denied for account_id: 1234567890"}]}  # fmt: skip
    [slow] = [s for s in summaries(xray, 'service("GetTemperature")') if s["Id"] == ids["W"]]
    coverages = [e["Coverage"] for s in slow["ResponseTimeRootCauses"][0]["Services"] for e in s["EntityPath"]]
    assert coverages == [1.0, 0.9, 0.7]


@pytest.mark.parametrize(
    "expression, message",
    [
        ("responsetime >", "Invalid filter expression: expected a number after '>', found the end of the expression at position 14"),
        ('service("a") { coverage > 1 }', "Invalid filter expression: coverage is not valid inside service() { }"),
        ("rootcause.fault.entity { last", "expected '}' to close the '{' at position 23"),
        ('user = "\\x"', "Invalid filter expression: invalid escape in string at position 7"),
    ],
)
def test_malformed_expressions_are_400_with_the_position(xray: Any, expression: str, message: str) -> None:
    with pytest.raises(xray.exceptions.InvalidRequestException) as exc:
        xray.get_trace_summaries(StartTime=BASE, EndTime=BASE + 60, FilterExpression=expression)
    assert message in exc.value.response["Error"]["Message"]
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_groups_stored_with_create_group_expand_inside_filters(xray: Any) -> None:
    """group.name/group.arn resolve through the groups store, nested groups included; a cycle is refused on save."""
    ids = scenario(xray)
    names = {v: k for k, v in ids.items()}
    slow = xray.create_group(GroupName="high-response-time", FilterExpression="responsetime > 5")["Group"]
    xray.create_group(GroupName="slow-or-fault",
                      FilterExpression='group.name = "high-response-time" OR service("data-plane") { fault } OR fault')  # fmt: skip
    assert {names[s["Id"]] for s in summaries(xray, 'group.name = "slow-or-fault"')} == set("ACEJK")
    assert {names[s["Id"]] for s in summaries(xray, f'group.arn = "{slow["GroupARN"]}"')} == {"A", "C"}
    with pytest.raises(xray.exceptions.InvalidRequestException) as exc:
        xray.update_group(GroupName="high-response-time", FilterExpression='group.name = "slow-or-fault"')
    assert "refers to itself" in exc.value.response["Error"]["Message"]
    assert xray.get_group(GroupName="high-response-time")["Group"]["FilterExpression"] == "responsetime > 5"
    # The service graph of a group whose filter needs Python evaluation (service() { fault }).
    graph = xray.get_service_graph(StartTime=BASE - 10, EndTime=BASE + 300, GroupName="slow-or-fault")["Services"]
    assert graph, "the group's traces make a graph"

"""Root causes per trace: fault, error and response-time paths in X-Ray's shapes."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from fluoro.query.assemble import Trace, assemble
from fluoro.query.filters import parse
from fluoro.query.filters.evaluate import matches
from fluoro.query.summaries import summarize
from fluoro.store.api import StoredDocument

from ..helpers import load_fixture
from .filter_scenarios import build

BASE = int(time.time()) - 3600


@pytest.fixture(scope="module")
def traces() -> dict[str, Trace]:
    ids, docs = build(BASE)
    out = {}
    for letter, trace_id in ids.items():
        stored = [StoredDocument(trace_id, d["id"], d.get("in_progress") is True, 1.0, json.dumps(d).encode())
                  for d in docs if d["trace_id"] == trace_id]  # fmt: skip
        out[letter] = assemble(trace_id, stored)
    return out


def _names(cause: dict[str, Any]) -> list[tuple[str, list[str]]]:
    return [(s["Name"], [e["Name"] for e in s["EntityPath"]]) for s in cause["Services"]]


def test_fault_path_crosses_services_and_reports_the_last_exception(traces: dict[str, Trace]) -> None:
    summary = summarize(traces["C"])
    [cause] = summary["FaultRootCauses"]
    assert cause["ClientImpacting"] is True
    assert _names(cause) == [("api.example.com", ["api.example.com", "backend.example.com"]),
                             ("backend.example.com", ["backend.example.com", "deserialize"])]  # fmt: skip
    last = cause["Services"][-1]["EntityPath"][-1]
    assert last["Exceptions"] == [{"Name": "ValueError", "Message": "Access Denied for account_id: 1234567890"}]
    assert cause["Services"][0]["EntityPath"][1]["Remote"] is True  # the remote call
    assert [s["Inferred"] for s in cause["Services"]] == [False, False]
    assert summary["ErrorRootCauses"] == []


def test_fault_into_an_inferred_table(traces: dict[str, Trace]) -> None:
    [cause] = summarize(traces["E"])["FaultRootCauses"]
    table = cause["Services"][-1]
    assert (table["Name"], table["Type"], table["Inferred"]) == ("traces", "AWS::DynamoDB::Table", True)


def test_downstream_fault_below_a_healthy_root_is_not_client_impacting(traces: dict[str, Trace]) -> None:
    [cause] = summarize(traces["K"])["FaultRootCauses"]
    assert cause["ClientImpacting"] is False
    assert _names(cause) == [("data-plane", ["data-plane"])]


def test_error_cause_of_a_lambda_function(traces: dict[str, Trace]) -> None:
    [cause] = summarize(traces["H"])["ErrorRootCauses"]
    assert cause["Services"][0]["Type"] == "AWS::Lambda::Function"
    assert cause["Services"][0]["AccountId"] == "account-id"


def test_response_time_path_matches_the_devguide_example(traces: dict[str, Trace]) -> None:
    [cause] = summarize(traces["W"])["ResponseTimeRootCauses"]
    fragment = load_fixture("trace-summaries", "devguide-root-cause-services-fragment.json")
    reduced = load_fixture("trace-summaries", "devguide-root-cause-filter-json.json")
    assert _names(cause) == _names(fragment)
    assert _names(cause) == _names(reduced)
    for ours, theirs in zip(cause["Services"], fragment["Services"]):
        # Same members as the documented shape (fluoro omits Type/AccountId when unknown instead of null).
        assert set(ours) <= set(theirs) and {"Name", "Names", "EntityPath", "Inferred"} <= set(ours)
        for entity in ours["EntityPath"]:
            assert set(entity) == {"Name", "Coverage", "Remote"}
    assert [e["Coverage"] for s in cause["Services"] for e in s["EntityPath"]] == [1.0, 0.9, 0.7]
    expression = "rootcause.json = #[" + json.dumps(reduced) + "]"
    assert matches(parse(expression), traces["W"])
    assert not matches(parse(expression), traces["F"])


def test_in_progress_root_has_no_response_time_cause(traces: dict[str, Trace]) -> None:
    assert summarize(traces["L"])["ResponseTimeRootCauses"] == []


def test_json_match_wildcards_and_exact_fields(traces: dict[str, Trace]) -> None:
    ok = 'rootcause.json = #[{"Services": [{"Name": "frontend"}, {"Name": "traces", "Inferred": true}]}]'
    wrong_flag = 'rootcause.json = #[{"Services": [{"Name": "frontend"}, {"Name": "traces", "Inferred": false}]}]'
    too_short = 'rootcause.json = #[{"Services": [{"Name": "frontend"}]}]'
    assert matches(parse(ok), traces["F"])
    assert not matches(parse(wrong_flag), traces["F"])
    assert not matches(parse(too_short), traces["F"])
    assert matches(parse('rootcause.json = #[{"ClientImpacting": false}]'), traces["K"])

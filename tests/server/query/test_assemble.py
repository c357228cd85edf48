"""Assembly of stored documents into the processed trace, independent of any backend."""

from __future__ import annotations

import json
from typing import Any

from fluoro.query.assemble import assemble, infer_origin
from fluoro.query.summaries import summarize
from fluoro.store.api import StoredDocument

TID = "1-5f187253-6a106696d56b1f4ef9eba2ed"


def stored(doc: dict[str, Any], received: float = 1.0) -> StoredDocument:
    return StoredDocument(TID, doc["id"], doc.get("in_progress") is True, received, json.dumps(doc).encode())


def seg(id: str, **kw: Any) -> dict[str, Any]:
    return {"id": id, "trace_id": TID, "name": kw.pop("name", id), "start_time": 10.0, "end_time": 11.0, **kw}


def test_lambda_style_streamed_subsegments_nest_in_any_order() -> None:
    function = seg("f" * 16, origin="AWS::Lambda::Function")
    invocation = seg("1" * 16, type="subsegment", parent_id="f" * 16, name="Invocation")
    ddb = seg("2" * 16, type="subsegment", parent_id="1" * 16, name="DynamoDB", namespace="aws",
              aws={"table_name": "t", "operation": "PutItem"})  # fmt: skip
    for order in ([ddb, invocation, function], [function, invocation, ddb], [invocation, function, ddb]):
        trace = assemble(TID, [stored(d) for d in order])
        docs = {d["id"]: d for d in trace.segments}
        top = docs["f" * 16]
        assert top["subsegments"][0]["id"] == "1" * 16
        assert top["subsegments"][0]["subsegments"][0]["id"] == "2" * 16
        (inferred,) = [d for d in trace.segments if d.get("inferred")]
        assert inferred["parent_id"] == "2" * 16 and inferred["origin"] == "AWS::DynamoDB::Table"
        assert inferred["name"] == "DynamoDB" and inferred["trace_id"] == TID


def test_orphan_subsegment_is_still_shown() -> None:
    orphan = seg("3" * 16, type="subsegment", parent_id="9" * 16)
    trace = assemble(TID, [stored(orphan)])
    assert [d["id"] for d in trace.segments] == ["3" * 16]


def test_callee_segment_replaces_inferred() -> None:
    caller = seg("a" * 16, subsegments=[seg("b" * 16, namespace="remote", name="api.example.com")])
    callee = seg("c" * 16, parent_id="b" * 16, name="api.example.com")
    assert any(d.get("inferred") for d in assemble(TID, [stored(caller)]).segments)
    assert not any(d.get("inferred") for d in assemble(TID, [stored(caller), stored(callee)]).segments)


def test_complete_version_wins_regardless_of_arrival() -> None:
    done = seg("a" * 16)
    partial = {k: v for k, v in done.items() if k != "end_time"} | {"in_progress": True}
    for docs in ([stored(partial, 1.0), stored(done, 2.0)], [stored(done, 1.0), stored(partial, 2.0)]):
        trace = assemble(TID, docs)
        assert len(trace.segments) == 1 and "in_progress" not in trace.segments[0]
        assert summarize(trace)["IsPartial"] is False and trace.revision == 2


def test_inferred_origins() -> None:
    assert infer_origin({"name": "dynamodb", "namespace": "aws", "aws": {"table_name": "x"}}) == "AWS::DynamoDB::Table"
    assert infer_origin({"name": "SNS", "namespace": "aws"}) == "AWS::SNS"
    assert infer_origin({"name": "sqs", "namespace": "aws", "aws": {"queue_url": "u"}}) == "AWS::SQS::Queue"
    assert infer_origin({"name": "db", "namespace": "remote", "sql": {}}) == "Database::SQL"
    assert infer_origin({"name": "api", "namespace": "remote"}) is None


def test_summary_asymmetry_fault_root_only_throttle_anywhere() -> None:
    root = seg("a" * 16, http={"response": {"status": 200}},
               subsegments=[seg("b" * 16, http={"response": {"status": 429}}, throttle=True)])  # fmt: skip
    child = seg("c" * 16, parent_id="b" * 16, fault=True)
    s = summarize(assemble(TID, [stored(root), stored(child)]))
    assert (s["HasFault"], s["HasError"], s["HasThrottle"]) == (False, False, True)

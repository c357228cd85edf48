"""PutTraceSegments, BatchGetTraces and GetTraceSummaries through the real boto3 client."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ..helpers_docs import new_id, new_trace_id, segment


def put(xray: Any, *docs: dict[str, Any]) -> dict[str, Any]:
    return xray.put_trace_segments(TraceSegmentDocuments=[json.dumps(d) for d in docs])


def test_put_reports_each_bad_document_and_commits_the_rest(xray: Any) -> None:
    good = segment()
    bad_trace = segment(trace_id="1-5880168b-fd515828bs07678a3bb5a78c")
    no_end = segment()
    del no_end["end_time"]
    result = xray.put_trace_segments(
        TraceSegmentDocuments=[json.dumps(good), json.dumps(bad_trace), "not json", json.dumps(no_end)]
    )
    errors = {(u.get("Id"), u["ErrorCode"]) for u in result["UnprocessedTraceSegments"]}
    assert errors == {(bad_trace["id"], "InvalidTraceId"), (None, "JSONFormatError"), (no_end["id"], "MissingEndTime")}
    # A 200 means committed: readable immediately, no waiting.
    traces = xray.batch_get_traces(TraceIds=[good["trace_id"]])["Traces"]
    assert [s["Id"] for s in traces[0]["Segments"]] == [good["id"]]


def test_batch_get_traces_limits_and_unknown_ids(xray: Any) -> None:
    with pytest.raises(ClientError) as exc:
        xray.batch_get_traces(TraceIds=[new_trace_id() for _ in range(6)])
    assert exc.value.response["Error"] == {"Code": "InvalidRequestException", "Message": "Exceeding maximum query size: 5"}
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(xray.exceptions.InvalidRequestException, match="incorrect id format"):
        xray.batch_get_traces(TraceIds=["nope"])
    with pytest.raises(xray.exceptions.InvalidRequestException, match="NextToken is currently not supported"):
        xray.batch_get_traces(TraceIds=[new_trace_id()], NextToken="x")
    unknown = new_trace_id()
    assert xray.batch_get_traces(TraceIds=[unknown])["UnprocessedTraceIds"] == [unknown]


def test_in_progress_replaced_and_out_of_order_subsegments_merged(xray: Any) -> None:
    trace_id = new_trace_id()
    root = segment(trace_id, name="api")
    in_progress = {k: v for k, v in root.items() if k != "end_time"} | {"in_progress": True}
    child = {"id": new_id(), "name": "child", "start_time": root["start_time"] + 0.01,
             "end_time": root["start_time"] + 0.02, "type": "subsegment", "trace_id": trace_id,
             "parent_id": None}  # fmt: skip
    grandchild = {"id": new_id(), "name": "DynamoDB", "namespace": "aws", "start_time": child["start_time"],
                  "end_time": child["end_time"], "type": "subsegment", "trace_id": trace_id,
                  "parent_id": child["id"], "aws": {"table_name": "users", "operation": "GetItem"}}  # fmt: skip
    child["parent_id"] = root["id"]
    put(xray, grandchild)  # deepest first: its parent arrives later
    put(xray, child)
    put(xray, in_progress)
    summary_partial = _summary(xray, trace_id)
    assert summary_partial["IsPartial"] is True
    put(xray, root)
    put(xray, in_progress)  # a late in-progress copy never wins over the complete one
    (trace,) = xray.batch_get_traces(TraceIds=[trace_id])["Traces"]
    docs = {s["Id"]: json.loads(s["Document"]) for s in trace["Segments"]}
    assert set(docs) - {root["id"]} and len(docs) == 2
    top = docs[root["id"]]
    assert "in_progress" not in top and top["end_time"] == root["end_time"]
    (nested,) = top["subsegments"]
    assert nested["id"] == child["id"] and "parent_id" not in nested
    assert nested["subsegments"][0]["id"] == grandchild["id"]
    (inferred,) = [d for d in docs.values() if d.get("inferred")]
    assert inferred["parent_id"] == grandchild["id"] and inferred["origin"] == "AWS::DynamoDB::Table"
    assert _summary(xray, trace_id)["IsPartial"] is False


def _summary(xray: Any, trace_id: str) -> dict[str, Any]:
    start = int(trace_id[2:10], 16)
    out = xray.get_trace_summaries(StartTime=start - 1, EndTime=start + 2, FilterExpression="")
    (summary,) = [s for s in out["TraceSummaries"] if s["Id"] == trace_id]
    return summary


def test_summary_fields(xray: Any) -> None:
    trace_id = new_trace_id()
    t0 = time.time()
    root = segment(
        trace_id, name="web", origin="AWS::EC2::Instance", user="alice", start_time=t0, end_time=t0 + 1.0,
        http={"request": {"method": "POST", "url": "https://example.com/api", "client_ip": "10.0.0.1",
                          "user_agent": "curl"}, "response": {"status": 502}},
        aws={"ec2": {"instance_id": "i-123", "availability_zone": "us-east-1a"}, "account_id": "123456789012"},
        annotations={"gameid": "817DL6VO", "level": 3, "vip": True},
        subsegments=[{"id": new_id(), "name": "remote", "namespace": "remote", "start_time": t0 + 0.1,
                      "end_time": t0 + 0.2, "http": {"response": {"status": 429}}}],
    )  # fmt: skip
    late = segment(trace_id, name="worker", parent_id=root["subsegments"][0]["id"], start_time=t0 + 0.5,
                   end_time=t0 + 3.0, http={"response": {"status": 404}}, resource_arn="arn:aws:x",
                   annotations={"gameid": "OTHER"})  # fmt: skip
    put(xray, root, late)
    s = _summary(xray, trace_id)
    assert s["Duration"] == pytest.approx(3.0) and s["ResponseTime"] == pytest.approx(1.0)
    assert (s["HasFault"], s["HasError"], s["HasThrottle"], s["IsPartial"]) == (True, False, True, False)
    assert s["Http"] == {"HttpURL": "https://example.com/api", "HttpMethod": "POST", "HttpStatus": 502,
                         "ClientIp": "10.0.0.1", "UserAgent": "curl"}  # fmt: skip
    web = {"Name": "web", "Names": ["web"], "AccountId": "123456789012", "Type": "AWS::EC2::Instance"}
    assert s["EntryPoint"] == web
    assert s["Users"] == [{"UserName": "alice", "ServiceIds": [web]}]
    assert {v["AnnotationValue"]["StringValue"] for v in s["Annotations"]["gameid"]} == {"817DL6VO", "OTHER"}
    assert s["Annotations"]["level"][0]["AnnotationValue"] == {"NumberValue": 3}
    assert s["Annotations"]["vip"][0] == {"AnnotationValue": {"BooleanValue": True}, "ServiceIds": [web]}
    assert s["ResourceARNs"] == [{"ARN": "arn:aws:x"}]
    assert s["InstanceIds"] == [{"Id": "i-123"}] and s["AvailabilityZones"] == [{"Name": "us-east-1a"}]
    assert {x["Name"] for x in s["ServiceIds"]} == {"web", "worker"}
    assert s["Revision"] == 2


@pytest.mark.parametrize(
    "expression, expected",
    [
        ('annotation.team = "blue"', {"a", "b"}),
        ('annotation.team = "blue" AND responsetime > 1', {"b"}),
        ("annotation.team", {"a", "b", "c"}),
        ("!annotation.team", {"d"}),
        ("annotation.n >= 5", {"c"}),
        ("fault", {"c"}),
        ("error", {"d"}),
        ("ok", {"a", "b"}),
        ("!ok", {"c", "d"}),
        ("ok = false AND http.status = 404", {"d"}),
        ('http.url CONTAINS "/checkout"', {"b"}),
        ('http.method = "GET" OR user = "bob"', {"a", "c"}),
        ('user BEGINSWITH "bo"', {"c"}),
        ("duration >= 2", {"b"}),
        ("responsetime < 1 ok", {"a"}),
    ],
)
def test_simple_filter_keywords(xray: Any, expression: str, expected: set[str]) -> None:
    base = (int(time.time()) // 3600 - 5) * 3600 + 10  # its own hour, away from other tests' traces
    marks = _filter_data(xray, base)
    out = xray.get_trace_summaries(StartTime=base - 1, EndTime=base + 60, FilterExpression=expression)
    assert {marks[s["Id"]] for s in out["TraceSummaries"]} == expected


_FILTER_DATA: dict[int, dict[str, str]] = {}


def _filter_data(xray: Any, base: float) -> dict[str, str]:
    key = int(base)
    if key in _FILTER_DATA:
        return _FILTER_DATA[key]
    specs = {
        "a": dict(annotations={"team": "blue"}, http={"request": {"method": "GET", "url": "http://s/home"},
                                                       "response": {"status": 200}}, end=0.5),
        "b": dict(annotations={"team": "blue"}, http={"request": {"method": "POST", "url": "http://s/checkout"},
                                                       "response": {"status": 201}}, end=1.5, extra=2.5),
        "c": dict(annotations={"team": "red", "n": 7}, user="bob", fault=True, end=0.2),
        "d": dict(http={"response": {"status": 404}}, end=0.1),
    }  # fmt: skip
    marks = {}
    docs = []
    for i, (mark, spec) in enumerate(specs.items()):
        trace_id = new_trace_id(base + i)
        end = spec.pop("end")
        extra = spec.pop("extra", None)
        root = segment(trace_id, start_time=base + i, end_time=base + i + end, **spec)
        docs.append(root)
        if extra:
            docs.append(segment(trace_id, parent_id=root["id"], start_time=base + i, end_time=base + i + extra))
        marks[trace_id] = mark
    put(xray, *docs)
    _FILTER_DATA[key] = marks
    return marks


def test_bad_filter_is_a_client_error(xray: Any) -> None:
    now = time.time()
    with pytest.raises(xray.exceptions.InvalidRequestException, match="Invalid filter expression"):
        xray.get_trace_summaries(StartTime=now - 60, EndTime=now, FilterExpression="responsetime >")
    with pytest.raises(xray.exceptions.InvalidRequestException, match="unknown keyword 'colour' at position 3"):
        xray.get_trace_summaries(StartTime=now - 60, EndTime=now, FilterExpression='ok colour = "red"')
    with pytest.raises(xray.exceptions.InvalidRequestException, match="coverage is not valid at trace level"):
        xray.get_trace_summaries(StartTime=now - 60, EndTime=now, FilterExpression="coverage > 0.5")


def test_paging_newest_first_with_next_token(xray: Any) -> None:
    base = (int(time.time()) // 3600 - 9) * 3600
    ids = [new_trace_id(base + i) for i in range(250)]
    put(xray, *[segment(t, start_time=base + i, end_time=base + i + 0.1, annotations={"page": "yes"})
                for i, t in enumerate(ids)])  # fmt: skip
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        kwargs = {"NextToken": token} if token else {}
        out = xray.get_trace_summaries(StartTime=base, EndTime=base + 3600, FilterExpression="annotation.page", **kwargs)
        seen += [s["Id"] for s in out["TraceSummaries"]]
        assert out["TracesProcessedCount"] >= len(out["TraceSummaries"])
        pages += 1
        token = out.get("NextToken")
        if not token:
            break
    assert pages == 3 and seen == list(reversed(ids))
    paginator = xray.get_paginator("get_trace_summaries")
    total = sum(len(p["TraceSummaries"]) for p in paginator.paginate(StartTime=base, EndTime=base + 3600))
    assert total == 250


def test_time_range_types_and_sampling(xray: Any) -> None:
    base = (int(time.time()) // 3600 - 12) * 3600
    trace_id = new_trace_id(base)
    put(xray, segment(trace_id, start_time=base + 1, end_time=base + 1800))
    def ids(**kw: Any) -> list[str]:
        return [s["Id"] for s in xray.get_trace_summaries(**kw)["TraceSummaries"]]
    assert trace_id in ids(StartTime=base, EndTime=base + 10)
    assert trace_id not in ids(StartTime=base + 1000, EndTime=base + 1100)
    assert trace_id in ids(StartTime=base + 1000, EndTime=base + 1100, TimeRangeType="Event")
    assert trace_id in ids(StartTime=base + 1799, EndTime=base + 1801, TimeRangeType="Service")
    out = xray.get_trace_summaries(StartTime=base + 1000, EndTime=base + 1100, TimeRangeType="Event")
    assert out["TraceSummaries"][0]["MatchedEventTime"].timestamp() == pytest.approx(base + 1100, abs=1)
    with pytest.raises(xray.exceptions.InvalidRequestException, match="Cannot use FixedRate"):
        xray.get_trace_summaries(StartTime=base, EndTime=base + 10, Sampling=True,
                                 SamplingStrategy={"Name": "FixedRate", "Value": 0.5})  # fmt: skip
    assert ids(StartTime=base, EndTime=base + 3600, TimeRangeType="Event", Sampling=True,
               SamplingStrategy={"Name": "FixedRate", "Value": 1.0}) == [trace_id]  # fmt: skip
    assert ids(StartTime=base, EndTime=base + 3600, TimeRangeType="Event", Sampling=True,
               SamplingStrategy={"Name": "FixedRate", "Value": 0.0}) == []  # fmt: skip

"""Assembled trace → ``TraceSummary`` as GetTraceSummaries returns it.

The asymmetry is X-Ray's: HasFault and HasError describe the root segment
(the request the trace served), HasThrottle is true when any document has a
429.  Root causes come from ``fluoro.query.rootcause``.
"""

from __future__ import annotations

from typing import Any

from fluoro.query.assemble import Doc, Trace, has_flag, http_status
from fluoro.query.rootcause import root_causes
from fluoro.query.trace_nodes import TraceGraph, build


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def root_segment(trace: Trace) -> Doc | None:
    """The segment that served the request, by the rule every store uses for trace-level filters.

    The earliest segment without a parent; else the earliest segment; else the earliest
    independent subsegment whose parent never arrived.
    """
    real = [s for s in trace.segments if not s.get("inferred") and s.get("type") != "subsegment"]
    for candidates in (
        [s for s in real if not s.get("parent_id")],
        real,
        [s for s in trace.segments if s.get("type") == "subsegment"],
    ):
        if candidates:
            return min(candidates, key=lambda s: s.get("start_time", 0))
    return None


def service_id(segment: Doc) -> dict[str, Any]:
    name = str(segment.get("name", ""))
    aws = _obj(segment.get("aws"))
    if segment.get("inferred") and segment.get("origin") == "AWS::DynamoDB::Table" and aws.get("table_name"):
        name = str(aws["table_name"])
    out: dict[str, Any] = {"Name": name, "Names": [name]}
    account = aws.get("account_id")
    if isinstance(account, str):
        out["AccountId"] = account
    if isinstance(segment.get("origin"), str):
        out["Type"] = segment["origin"]
    return out


def _add_unique(items: list[Any], item: Any) -> None:
    if item not in items:
        items.append(item)


def _annotation_value(value: Any) -> dict[str, Any] | None:
    if isinstance(value, bool):
        return {"BooleanValue": value}
    if isinstance(value, (int, float)):
        return {"NumberValue": value}
    if isinstance(value, str):
        return {"StringValue": value}
    return None


def _http(root: Doc) -> dict[str, Any]:
    request = _obj(_obj(root.get("http")).get("request"))
    out: dict[str, Any] = {}
    for src, dst in (("url", "HttpURL"), ("method", "HttpMethod"), ("user_agent", "UserAgent"),
                     ("client_ip", "ClientIp")):  # fmt: skip
        if isinstance(request.get(src), str):
            out[dst] = request[src]
    status = http_status(root)
    if status is not None:
        out["HttpStatus"] = status
    return out


def summarize(
    trace: Trace, matched_event_time: float | None = None, graph: TraceGraph | None = None
) -> dict[str, Any]:
    """``graph``: the trace's ``build(trace)`` if the caller has it already (a filter built it)."""
    if graph is None:
        graph = build(trace)
    entities = list(zip(trace.segments, graph.entities))
    root = root_segment(trace)
    starts = [s["start_time"] for s in trace.segments if isinstance(s.get("start_time"), (int, float))]
    summary: dict[str, Any] = {"Id": trace.id}
    if starts:
        summary["StartTime"] = min(starts)
    summary["Duration"] = trace.duration
    if root is not None and isinstance(root.get("end_time"), (int, float)):
        summary["ResponseTime"] = round(root["end_time"] - root["start_time"], 3)
    summary["HasFault"] = bool(root and has_flag(root, "fault"))
    summary["HasError"] = bool(root and has_flag(root, "error"))
    summary["HasThrottle"] = any(has_flag(e, "throttle") for found in graph.entities for e in found)
    summary["IsPartial"] = any(s.get("in_progress") is True for s in trace.segments)
    summary["Http"] = _http(root) if root else {}
    annotations: dict[str, list[dict[str, Any]]] = {}
    users: list[dict[str, Any]] = []
    services: list[dict[str, Any]] = []
    arns: list[dict[str, str]] = []
    instances: list[dict[str, str]] = []
    zones: list[dict[str, str]] = []
    for segment, nested in entities:
        sid = service_id(segment)
        _add_unique(services, sid)
        if isinstance(segment.get("user"), str):
            entry = next((u for u in users if u["UserName"] == segment["user"]), None)
            if entry is None:
                entry = {"UserName": segment["user"], "ServiceIds": []}
                users.append(entry)
            _add_unique(entry["ServiceIds"], sid)
        if isinstance(segment.get("resource_arn"), str):
            _add_unique(arns, {"ARN": segment["resource_arn"]})
        aws = _obj(segment.get("aws"))
        for block in (aws.get("ec2"), aws.get("ecs")):
            if isinstance(block, dict):
                if isinstance(block.get("instance_id"), str):
                    _add_unique(instances, {"Id": block["instance_id"]})
                if isinstance(block.get("availability_zone"), str):
                    _add_unique(zones, {"Name": block["availability_zone"]})
        for entity in nested:
            values = entity.get("annotations")
            if not isinstance(values, dict):
                continue
            for key, raw in values.items():
                value = _annotation_value(raw)
                if value is None:
                    continue
                bucket = annotations.setdefault(str(key), [])
                found = next((v for v in bucket if v["AnnotationValue"] == value), None)
                if found is None:
                    found = {"AnnotationValue": value, "ServiceIds": []}
                    bucket.append(found)
                _add_unique(found["ServiceIds"], sid)
    summary["Annotations"] = annotations
    summary["Users"] = users
    summary["ServiceIds"] = services
    summary["ResourceARNs"] = arns
    summary["InstanceIds"] = instances
    summary["AvailabilityZones"] = zones
    if root is not None:
        summary["EntryPoint"] = service_id(root)
    summary.update(root_causes(graph, root))
    summary["Revision"] = trace.revision
    if matched_event_time is not None:
        summary["MatchedEventTime"] = matched_event_time
    return summary

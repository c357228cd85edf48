"""Stored documents → the processed trace that BatchGetTraces returns.

X-Ray compiles what it received: one entry per segment, independently sent
subsegments nested into their parents, the complete version of a document
replacing its in-progress one, and an inferred segment for every ``aws`` or
``remote`` call whose callee sent no segment of its own.  All of that is
derived at read time, so documents may arrive in any order.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Sequence

import msgspec

from fluoro.store.api import StoredDocument

Doc = dict[str, Any]
TRACE_SIZE_LIMIT = 500 * 1024

# Subsegment names (SDK spellings, case-folded) → the service part of an AWS type.
_AWS_SERVICES = {
    "dynamodb": "DynamoDB", "sns": "SNS", "sqs": "SQS", "s3": "S3", "lambda": "Lambda",
    "kinesis": "Kinesis", "events": "Events", "eventbridge": "Events",
    "sfn": "Sfn", "ec2": "EC2", "ecs": "ECS",
    "sts": "STS", "kms": "KMS", "secretsmanager": "SecretsManager", "ssm": "SSM", "firehose": "Firehose",
    "cloudwatch": "CloudWatch", "logs": "CloudWatchLogs", "xray": "XRay", "athena": "Athena",
}  # fmt: skip
_RESOURCE_TYPES = {
    ("DynamoDB", "table_name"): "AWS::DynamoDB::Table",
    ("S3", "bucket_name"): "AWS::S3::Bucket",
    ("SQS", "queue_url"): "AWS::SQS::Queue",
}


@dataclass
class Trace:
    id: str
    segments: list[Doc]  # real, inferred and orphaned documents, one entry each
    revision: int
    size: int
    # The stored version chosen for every document id: what trace-level filters read.
    latest: list[StoredDocument] = field(default_factory=list)
    # id(segment) -> ``walk(segment)`` as assembled, for the trace graph (``trace_nodes.build``).
    walks: dict[int, list[Doc]] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        starts = [float(s["start_time"]) for s in self.segments]
        ends = [float(s.get("end_time") or s["start_time"]) for s in self.segments]
        return round(max(ends) - min(starts), 3) if starts else 0.0

    @property
    def limit_exceeded(self) -> bool:
        return self.size > TRACE_SIZE_LIMIT

    def entries(self) -> list[dict[str, str]]:
        encode = msgspec.json.encode
        return [{"Id": s["id"], "Document": encode(s).decode()} for s in self.segments]


def _latest(docs: Sequence[StoredDocument]) -> list[tuple[Doc, StoredDocument]]:
    """One document per id: complete beats in-progress, then the latest received wins."""
    best: dict[str, tuple[bool, float, Doc, StoredDocument]] = {}
    for stored in docs:
        try:
            doc = msgspec.json.decode(stored.doc)
        except (msgspec.DecodeError, RecursionError):
            try:  # e.g. integers beyond 64 bits in metadata, which json accepts
                doc = json.loads(stored.doc)
            except (ValueError, RecursionError):
                continue
        if not isinstance(doc, dict):
            continue
        rank = (not stored.in_progress, stored.received)
        old = best.get(stored.id)
        if old is None or rank >= old[:2]:
            best[stored.id] = (rank[0], rank[1], doc, stored)
    return [(entry[2], entry[3]) for entry in best.values()]


def http_status(entity: Doc) -> int | None:
    """The entity's HTTP response status as an int (digit strings accepted), or None."""
    http = entity.get("http")
    response = http.get("response") if isinstance(http, dict) else None
    status = response.get("status") if isinstance(response, dict) else None
    if isinstance(status, str) and status.isdigit():
        return int(status)
    return status if type(status) is int else None


_FLAG_STATUS = {"fault": (500, 600), "error": (400, 500)}


def has_flag(entity: Doc, flag: str) -> bool:
    """``fault``/``error``/``throttle``: the flag is set or the HTTP status says so (5xx, 4xx, 429)."""
    if entity.get(flag) is True:
        return True
    status = http_status(entity)
    if status is None:
        return False
    if flag == "throttle":
        return status == 429
    low, high = _FLAG_STATUS[flag]
    return low <= status < high


def entity_flags(entity: Doc) -> tuple[bool, bool, bool]:
    """``has_flag`` of fault, error and throttle at once, reading the HTTP status once
    (for callers that need all three of every entity)."""
    status = http_status(entity)
    return (
        entity.get("fault") is True or (status is not None and 500 <= status < 600),
        entity.get("error") is True or (status is not None and 400 <= status < 500),
        entity.get("throttle") is True or status == 429,
    )


def walk(entity: Doc) -> list[Doc]:
    """``entity`` and all its nested subsegments, depth first (a list: every caller reads them all)."""
    out: list[Doc] = []
    stack = [entity]
    pop, push, append = stack.pop, stack.extend, out.append
    while stack:
        node = pop()
        append(node)
        subs = node.get("subsegments")
        if isinstance(subs, list):
            push([s for s in reversed(subs) if isinstance(s, dict)])
    return out


def _nest(parent: Doc, child: Doc) -> None:
    for key in ("type", "trace_id", "parent_id"):
        child.pop(key, None)
    subs = parent.setdefault("subsegments", [])
    subs[:] = [s for s in subs if not (isinstance(s, dict) and s.get("id") == child.get("id"))]
    subs.append(child)
    subs.sort(key=lambda s: s.get("start_time", 0) if isinstance(s, dict) else 0)


def infer_origin(sub: Doc) -> str | None:
    """The ``origin`` X-Ray gives the inferred segment of a downstream call."""
    if sub.get("namespace") == "remote":
        return "Database::SQL" if isinstance(sub.get("sql"), dict) else None
    name = str(sub.get("name", ""))
    service = _AWS_SERVICES.get(name.lower().replace(" ", ""), name)
    aws = sub["aws"] if isinstance(sub.get("aws"), dict) else {}
    for (svc, key), resource_type in _RESOURCE_TYPES.items():
        if svc == service and aws.get(key):
            return resource_type
    return f"AWS::{service}"


def _inferred(trace_id: str, sub: Doc) -> Doc:
    digest = hashlib.sha1(f"{trace_id}/{sub['id']}".encode()).hexdigest()[:16]
    doc: Doc = {"id": digest, "name": sub.get("name"), "start_time": sub.get("start_time")}
    if "end_time" in sub:
        doc["end_time"] = sub["end_time"]
    else:
        doc["in_progress"] = True
    doc["parent_id"] = sub["id"]
    doc["inferred"] = True
    for key in ("http", "aws", "error", "fault", "throttle"):
        if key in sub:
            doc[key] = sub[key]
    doc["trace_id"] = trace_id
    origin = infer_origin(sub)
    if origin:
        doc["origin"] = origin
    return doc


def assemble(trace_id: str, stored: Sequence[StoredDocument]) -> Trace:
    chosen = _latest(stored)
    docs = [doc for doc, _ in chosen]
    segments = [d for d in docs if d.get("type") != "subsegment"]
    pending = sorted((d for d in docs if d.get("type") == "subsegment"), key=lambda d: d.get("start_time", 0))
    index: dict[str, Doc] = {}
    if pending:  # independent subsegments to nest: every entity by id (most traces have none)
        for seg in segments:
            for entity in walk(seg):
                index.setdefault(str(entity.get("id")), entity)
    progress = True
    while pending and progress:
        progress = False
        for sub in list(pending):
            parent = index.get(str(sub.get("parent_id")))
            if parent is not None and parent is not sub:
                pending.remove(sub)
                _nest(parent, sub)
                for entity in walk(sub):
                    index[str(entity.get("id"))] = entity
                progress = True
    orphans = pending  # parent never arrived: still shown, as X-Ray shows broken traces
    real = segments + orphans
    called = {s.get("parent_id") for s in segments}
    inferred: list[Doc] = []
    walks: dict[int, list[Doc]] = {}
    for top in real:
        walks[id(top)] = found = walk(top)
        for entity in found:
            if entity is top and top in segments:
                continue
            if entity.get("namespace") in ("aws", "remote") and entity.get("id") not in called:
                if isinstance(entity.get("start_time"), (int, float)) and isinstance(entity.get("id"), str):
                    inferred.append(_inferred(trace_id, entity))
    given = {s.get("id") for s in segments}
    inferred = [d for d in inferred if d["id"] not in given]
    out = sorted(real, key=lambda s: s.get("start_time", 0)) + inferred
    latest = [s for _, s in chosen]
    for doc in inferred:
        walks[id(doc)] = [doc]
    return Trace(trace_id, out, revision=len(stored), size=sum(len(s.doc) for s in stored), latest=latest, walks=walks)

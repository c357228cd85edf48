"""Sampling rules (Get/Create/Update/DeleteSamplingRule), GetSamplingTargets and
GetSamplingStatisticSummaries.

Requests are checked against the botocore model here; rules and statistics
live in the ``ConfigStore``, and quota sharing is ``fluoro.sampling``'s, so
several servers on one store agree.  Responses always carry ``Attributes``
(Node's SDK drops rules without it) and numeric timestamps (Go/Node/Java).
"""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any

from starlette.concurrency import run_in_threadpool

from fluoro.api import arns, validate
from fluoro.api.context import ApiContext, Handler
from fluoro.api.errors import InvalidRequest, RuleLimitExceeded
from fluoro.sampling.targets import StatisticsReport, assign_targets, statistic_summaries
from fluoro.store.api import AlreadyExists, LimitExceeded, NotFound, RuleRecord

DEFAULT = "Default"
MAX_CUSTOM_RULES = 25
_NAME = re.compile(r"[A-Za-z0-9_-]+")
_UPDATE_RETRIES = 10
_SUMMARY_PAGE = 1000

# Member -> (kind, limits) from the botocore model's SamplingRule shape.
_STRINGS = {"ResourceARN": 500, "ServiceName": 64, "ServiceType": 64, "Host": 64, "HTTPMethod": 10, "URLPath": 128}
_ORDER = ("ResourceARN", "Priority", "FixedRate", "ReservoirSize", "ServiceName", "ServiceType", "Host",
          "HTTPMethod", "URLPath", "Version", "Attributes", "SamplingRateBoost")  # fmt: skip


def default_rule(now: float) -> RuleRecord:
    """The undeletable catch-all: 1 request/s, then 5 %."""
    body = {"ResourceARN": "*", "Priority": 10000, "FixedRate": 0.05, "ReservoirSize": 1, "ServiceName": "*",
            "ServiceType": "*", "Host": "*", "HTTPMethod": "*", "URLPath": "*", "Version": 1, "Attributes": {}}  # fmt: skip
    return RuleRecord(DEFAULT, body, created_at=0.0, modified_at=now)


def seed(ctx: ApiContext) -> None:
    """Create the Default rule unless some server already did (atomic insert-if-absent)."""
    ctx.config.ensure_rule(default_rule(time.time()))


def record_json(ctx: ApiContext, record: RuleRecord) -> dict[str, Any]:
    rule: dict[str, Any] = {"RuleName": record.name, "RuleARN": arns.rule_arn(ctx, record.name)}
    for key in _ORDER:
        if key in record.rule:
            rule[key] = record.rule[key]
    rule["Attributes"] = record.rule.get("Attributes") or {}
    return {"SamplingRule": rule, "CreatedAt": record.created_at, "ModifiedAt": record.modified_at}


# -- member checks -------------------------------------------------------------------


def _rule_name(value: Any, path: str) -> str:
    name = validate.string(value, path, min_len=1, max_len=32)
    assert name is not None
    if not _NAME.fullmatch(name):
        raise InvalidRequest(f"{path} may contain only letters, numbers, hyphens and underscores")
    return name


def _attributes(value: Any, path: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise InvalidRequest(f"{path} must be a map of strings")
    if len(value) > 5:
        raise InvalidRequest(f"{path} must have at most 5 entries")
    for key, item in value.items():
        validate.string(key, f"{path} key", min_len=1, max_len=32)
        validate.string(item, f"{path}.{key}", min_len=1, max_len=32)
    return dict(value)


def _boost(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidRequest(f"{path} must be an object with MaxRate and CooldownWindowMinutes")
    if "MaxRate" not in value:
        raise InvalidRequest(f"{path}.MaxRate is required")
    if "CooldownWindowMinutes" not in value:
        raise InvalidRequest(f"{path}.CooldownWindowMinutes is required")
    return {
        "MaxRate": validate.number(value["MaxRate"], f"{path}.MaxRate", minimum=0, maximum=1),
        "CooldownWindowMinutes": validate.integer(value["CooldownWindowMinutes"], f"{path}.CooldownWindowMinutes", minimum=0),
    }


def _member(key: str, value: Any, path: str) -> Any:
    """One checked SamplingRule member value."""
    where = f"{path}.{key}"
    if key in _STRINGS:
        return validate.string(value, where, max_len=_STRINGS[key])
    if key == "Priority":
        return validate.integer(value, where, minimum=1, maximum=9999)
    if key == "FixedRate":
        return validate.number(value, where, minimum=0, maximum=1)
    if key == "ReservoirSize":
        return validate.integer(value, where, minimum=0)
    if key == "Version":
        return validate.integer(value, where, minimum=1)
    if key == "Attributes":
        return _attributes(value, where)
    if key == "SamplingRateBoost":
        return _boost(value, where)
    raise InvalidRequest(f"{where} is not a member of {path}")


def _object(body: dict[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    if value is None:
        raise InvalidRequest(f"{key} is required")
    if not isinstance(value, dict):
        raise InvalidRequest(f"{key} must be an object")
    return value


def _name_from(ctx: ApiContext, name: Any, arn: Any, where: str) -> str:
    """The rule a request names by RuleName and/or RuleARN (the two must agree)."""
    if name is None and arn is None:
        raise InvalidRequest(f"{where}RuleName or {where}RuleARN is required")
    from_arn = None
    if arn is not None:
        text = validate.string(arn, f"{where}RuleARN", min_len=1)
        ref = arns.parse(ctx, text or "")
        if ref is None or ref.kind != "sampling-rule":
            raise InvalidRequest(f"{where}RuleARN {arn!r} is not a sampling rule ARN of this account and region")
        from_arn = ref.name
    if name is not None:
        checked = _rule_name(name, f"{where}RuleName")
        if from_arn is not None and from_arn != checked:
            raise InvalidRequest(f"{where}RuleName and {where}RuleARN name different rules; give one of them")
        return checked
    assert from_arn is not None
    return from_arn


def _tags_for_create(value: Any) -> dict[str, str]:
    tags = validate.tags(value)
    if len(tags) > validate.MAX_TAGS:
        raise InvalidRequest(f"Tags: a resource can have at most {validate.MAX_TAGS} tags")
    return tags


# -- handlers --------------------------------------------------------------------------


async def get_sampling_rules(ctx: ApiContext, body: dict[str, Any]) -> dict[str, Any]:
    validate.no_next_token(body)
    # Creation order (Default, created at 0, first), as the CLI's documented output shows;
    # SDKs order by priority themselves.
    records = await run_in_threadpool(ctx.config.list_rules)
    return {"SamplingRuleRecords": [record_json(ctx, r) for r in records]}


async def create_sampling_rule(ctx: ApiContext, body: dict[str, Any]) -> dict[str, Any]:
    given = _object(body, "SamplingRule")
    name = _name_from(ctx, given.get("RuleName"), given.get("RuleARN"), "SamplingRule.")
    rule: dict[str, Any] = {}
    for key in _ORDER:
        if key in given and given[key] is not None:
            rule[key] = _member(key, given[key], "SamplingRule")
        elif key not in ("Attributes", "SamplingRateBoost"):
            raise InvalidRequest(f"SamplingRule.{key} is required")
    for key in given:
        if key not in _ORDER and key not in ("RuleName", "RuleARN"):
            raise InvalidRequest(f"SamplingRule.{key} is not a member of SamplingRule")
    rule.setdefault("Attributes", {})
    tags = _tags_for_create(body.get("Tags"))
    now = time.time()
    record = RuleRecord(name, rule, created_at=now, modified_at=now, tags=tags)
    try:
        await run_in_threadpool(ctx.config.create_rule, record, MAX_CUSTOM_RULES + 1)
    except AlreadyExists as exc:
        raise InvalidRequest(str(exc)) from None
    except LimitExceeded as exc:
        raise RuleLimitExceeded(str(exc)) from None
    return {"SamplingRuleRecord": record_json(ctx, record)}


def _update(ctx: ApiContext, name: str, changes: dict[str, Any]) -> RuleRecord:
    for _ in range(_UPDATE_RETRIES):
        current = ctx.config.get_rule(name)
        if current is None:
            raise InvalidRequest("Sampling rule does not exist")
        if name == DEFAULT:
            locked = [k for k, v in changes.items() if k not in ("FixedRate", "ReservoirSize") and current.rule.get(k) != v]
            if locked:
                raise InvalidRequest(
                    "Only the reservoir size and fixed rate of the default sampling rule can be modified"
                    f" (the request also changes {', '.join(sorted(locked))})"
                )
        modified = max(time.time(), current.modified_at + 1e-6)
        record = RuleRecord(name, {**current.rule, **changes}, current.created_at, modified, current.tags)
        try:
            if ctx.config.update_rule(record, expect_modified=current.modified_at):
                return record
        except NotFound:
            raise InvalidRequest("Sampling rule does not exist") from None
    raise InvalidRequest("Sampling rule is being changed concurrently; retry the update")


async def update_sampling_rule(ctx: ApiContext, body: dict[str, Any]) -> dict[str, Any]:
    given = _object(body, "SamplingRuleUpdate")
    name = _name_from(ctx, given.get("RuleName"), given.get("RuleARN"), "SamplingRuleUpdate.")
    changes: dict[str, Any] = {}
    for key, value in given.items():
        if key in ("RuleName", "RuleARN") or value is None:
            continue
        if key == "Version" or key not in _ORDER:
            raise InvalidRequest(f"SamplingRuleUpdate.{key} is not a member of SamplingRuleUpdate")
        changes[key] = _member(key, value, "SamplingRuleUpdate")
    record = await run_in_threadpool(_update, ctx, name, changes)
    return {"SamplingRuleRecord": record_json(ctx, record)}


async def delete_sampling_rule(ctx: ApiContext, body: dict[str, Any]) -> dict[str, Any]:
    name = _name_from(ctx, body.get("RuleName"), body.get("RuleARN"), "")
    if name == DEFAULT:
        raise InvalidRequest("The default sampling rule cannot be deleted")
    try:
        record = await run_in_threadpool(ctx.config.delete_rule, name, time.time())
    except NotFound:
        raise InvalidRequest("Sampling rule does not exist") from None
    return {"SamplingRuleRecord": record_json(ctx, record)}


def _count(doc: dict[str, Any], key: str, path: str, required: bool = True) -> int:
    value = doc.get(key)
    if value is None:
        if required:
            raise InvalidRequest(f"{path}.{key} is required")
        return 0
    return validate.integer(value, f"{path}.{key}", minimum=0)


def _reports(body: dict[str, Any]) -> list[StatisticsReport]:
    docs = body.get("SamplingStatisticsDocuments")
    if not isinstance(docs, list):
        raise InvalidRequest("SamplingStatisticsDocuments is required and must be a list")
    if len(docs) > 25:
        raise InvalidRequest("SamplingStatisticsDocuments must have at most 25 entries")
    reports = []
    for i, doc in enumerate(docs):
        path = f"SamplingStatisticsDocuments[{i}]"
        if not isinstance(doc, dict):
            raise InvalidRequest(f"{path} must be an object")
        rule = validate.string(doc.get("RuleName"), f"{path}.RuleName", min_len=1, max_len=32)
        client = validate.string(doc.get("ClientID"), f"{path}.ClientID", min_len=24, max_len=24)
        if doc.get("Timestamp") is None:
            raise InvalidRequest(f"{path}.Timestamp is required")
        ts = validate.timestamp(doc["Timestamp"], f"{path}.Timestamp")
        assert rule is not None and client is not None
        reports.append(StatisticsReport(rule, client, ts, _count(doc, "RequestCount", path),
                                        _count(doc, "SampledCount", path), _count(doc, "BorrowCount", path, False)))  # fmt: skip
    return reports


def _boost_reports(body: dict[str, Any]) -> list[dict[str, str]]:
    """Checked, then reported back as unprocessed: fluoro detects no anomalies to boost for."""
    docs = body.get("SamplingBoostStatisticsDocuments")
    if docs is None:
        return []
    if not isinstance(docs, list) or len(docs) > 25:
        raise InvalidRequest("SamplingBoostStatisticsDocuments must be a list of at most 25 entries")
    out = []
    for i, doc in enumerate(docs):
        path = f"SamplingBoostStatisticsDocuments[{i}]"
        if not isinstance(doc, dict):
            raise InvalidRequest(f"{path} must be an object")
        rule = validate.string(doc.get("RuleName"), f"{path}.RuleName", min_len=1, max_len=32)
        validate.string(doc.get("ServiceName"), f"{path}.ServiceName", max_len=64)
        if doc.get("Timestamp") is None:
            raise InvalidRequest(f"{path}.Timestamp is required")
        validate.timestamp(doc["Timestamp"], f"{path}.Timestamp")
        for key in ("AnomalyCount", "TotalCount", "SampledAnomalyCount"):
            _count(doc, key, path)
        out.append({"RuleName": str(rule), "ErrorCode": "400", "Message": "Sampling boost is not supported by fluoro"})
    return out


async def get_sampling_targets(ctx: ApiContext, body: dict[str, Any]) -> dict[str, Any]:
    reports = _reports(body)
    unprocessed_boost = _boost_reports(body)
    result = await run_in_threadpool(assign_targets, ctx.config, reports, time.time())
    if unprocessed_boost:
        result["UnprocessedBoostStatistics"] = unprocessed_boost
    return result


def _offset(token: Any) -> int:
    if token is None or token == "":
        return 0
    try:
        value = json.loads(base64.urlsafe_b64decode(str(token).encode()).decode())
        offset = int(value["offset"])
    except (ValueError, KeyError, TypeError):
        raise InvalidRequest("NextToken is invalid") from None
    if offset < 0:
        raise InvalidRequest("NextToken is invalid")
    return offset


async def get_sampling_statistic_summaries(ctx: ApiContext, body: dict[str, Any]) -> dict[str, Any]:
    offset = _offset(body.get("NextToken"))
    rows = await run_in_threadpool(statistic_summaries, ctx.config, time.time())
    page = rows[offset : offset + _SUMMARY_PAGE]
    out: dict[str, Any] = {"SamplingStatisticSummaries": page}
    if offset + _SUMMARY_PAGE < len(rows):
        token = json.dumps({"offset": offset + _SUMMARY_PAGE}).encode()
        out["NextToken"] = base64.urlsafe_b64encode(token).decode()
    return out


HANDLERS: dict[str, Handler] = {
    "GetSamplingRules": get_sampling_rules,
    "CreateSamplingRule": create_sampling_rule,
    "UpdateSamplingRule": update_sampling_rule,
    "DeleteSamplingRule": delete_sampling_rule,
    "GetSamplingTargets": get_sampling_targets,
    "GetSamplingStatisticSummaries": get_sampling_statistic_summaries,
}

"""Groups: CreateGroup, GetGroup, GetGroups, UpdateGroup, DeleteGroup, and the group resolver.

A group is a saved filter expression.  ``group_filter`` turns a request's
``GroupName``/``GroupARN`` into that expression for other handlers (service
graph, time series); it blocks on the store, so call it from a worker thread.
"""

from __future__ import annotations

import base64
import os
import re
from typing import Any

from starlette.concurrency import run_in_threadpool

from fluoro.api import arns, validate
from fluoro.api.context import ApiContext, Handler
from fluoro.api.errors import InvalidRequest
from fluoro.query.filters import FilterError, parse
from fluoro.query.filters.parser import GroupResolver
from fluoro.store.api import AlreadyExists, GroupRecord, LimitExceeded, NotFound

DEFAULT = "Default"
MAX_GROUPS = 25  # including Default
# Devguide: up to 32 characters, alphanumeric and hyphens, case-sensitive.
_NAME = re.compile(r"[A-Za-z0-9-]+")
_NO_INSIGHTS = {"InsightsEnabled": False, "NotificationsEnabled": False}


def new_group_id() -> str:
    """A random unique id for the ARN (X-Ray's are opaque base32-like strings)."""
    return base64.b32encode(os.urandom(20)).decode().rstrip("=")


def seed(ctx: ApiContext) -> None:
    """The Default group (every trace): created once per store, whichever server comes first."""
    ctx.config.ensure_group(GroupRecord(DEFAULT, new_group_id(), None, dict(_NO_INSIGHTS)))


def group_json(ctx: ApiContext, g: GroupRecord) -> dict[str, Any]:
    out: dict[str, Any] = {"GroupName": g.name, "GroupARN": arns.group_arn(ctx, g.name, g.group_id)}
    if g.filter_expression is not None:
        out["FilterExpression"] = g.filter_expression
    out["InsightsConfiguration"] = {**_NO_INSIGHTS, **g.insights}
    return out


def _group_name(value: Any, path: str = "GroupName") -> str:
    name = validate.string(value, path, min_len=1, max_len=32)
    assert name is not None
    if not _NAME.fullmatch(name):
        raise InvalidRequest(f"{path} may contain only letters, numbers and hyphens")
    return name


def filter_resolver(ctx: ApiContext, saving: tuple[str, str] | None = None) -> GroupResolver:
    """``group.name``/``group.arn`` inside filter expressions, read from the groups store.

    ``saving`` (name, new expression) stands in for the stored version of the group
    being saved, so a cycle through it is refused before it is stored.  An unknown
    group resolves to None (it selects nothing); Default's empty filter to "" (all).
    """

    def resolve(kind: str, value: str) -> str | None:
        ref = arns.parse(ctx, value) if kind == "arn" else None
        if kind == "arn" and (ref is None or ref.kind != "group"):
            return None
        name = ref.name if ref is not None else value
        if saving is not None and name == saving[0]:
            return saving[1]
        group = ctx.config.get_group(name)
        if group is None or (ref is not None and ref.group_id != group.group_id):
            return None
        return group.filter_expression or ""

    return resolve


def _filter(ctx: ApiContext, value: Any, group_name: str) -> str | None:
    text = validate.string(value, "FilterExpression", required=False)
    if text is None:
        return None
    try:
        parse(text, filter_resolver(ctx, saving=(group_name, text)))
    except FilterError as exc:
        raise InvalidRequest(f"Invalid FilterExpression: {exc}") from None
    return text


def _insights(value: Any, current: dict[str, bool]) -> dict[str, bool]:
    if value is None:
        return dict(current)
    if not isinstance(value, dict):
        raise InvalidRequest("InsightsConfiguration must be an object")
    out = dict(current)
    for key in ("InsightsEnabled", "NotificationsEnabled"):
        flag = validate.boolean(value.get(key), f"InsightsConfiguration.{key}")
        if flag is not None:
            out[key] = flag
    unknown = set(value) - {"InsightsEnabled", "NotificationsEnabled"}
    if unknown:
        raise InvalidRequest(f"InsightsConfiguration.{sorted(unknown)[0]} is not a member of InsightsConfiguration")
    if out.get("NotificationsEnabled") and not out.get("InsightsEnabled"):
        raise InvalidRequest("Notifications can only be enabled on a group with InsightsEnabled set to true")
    return out


def resolve_group(ctx: ApiContext, name: Any = None, arn: Any = None) -> GroupRecord:
    """The group a request names by GroupName and/or GroupARN; InvalidRequest if there is none."""
    if name is None and arn is None:
        raise InvalidRequest("GroupName or GroupARN is required")
    ref = None
    if arn is not None:
        text = validate.string(arn, "GroupARN", min_len=1, max_len=400)
        ref = arns.parse(ctx, text or "")
        if ref is None or ref.kind != "group":
            raise InvalidRequest(f"GroupARN {arn!r} is not a group ARN of this account and region")
    if name is not None:
        wanted = _group_name(name)
        if ref is not None and ref.name != wanted:
            raise InvalidRequest("GroupName and GroupARN name different groups; give one of them")
    else:
        assert ref is not None
        wanted = ref.name
    group = ctx.config.get_group(wanted)
    if group is None or (ref is not None and ref.group_id != group.group_id):
        raise InvalidRequest(f"Group not found: {arn if name is None else name}")
    return group


def group_filter(ctx: ApiContext, body: dict[str, Any]) -> str | None:
    """The filter expression of the group a request names (None: no group, or all traces)."""
    if body.get("GroupName") is None and body.get("GroupARN") is None:
        return None
    return resolve_group(ctx, body.get("GroupName"), body.get("GroupARN")).filter_expression


async def create_group(ctx: ApiContext, body: dict[str, Any]) -> dict[str, Any]:
    name = _group_name(body.get("GroupName"))
    if name == DEFAULT:
        raise InvalidRequest("Default is a reserved group name")
    expression = await run_in_threadpool(_filter, ctx, body.get("FilterExpression"), name)
    insights = _insights(body.get("InsightsConfiguration"), _NO_INSIGHTS)
    tags = validate.tags(body.get("Tags"))
    if len(tags) > validate.MAX_TAGS:
        raise InvalidRequest(f"Tags: a resource can have at most {validate.MAX_TAGS} tags")
    record = GroupRecord(name, new_group_id(), expression, insights, tags)
    try:
        await run_in_threadpool(ctx.config.create_group, record, MAX_GROUPS)
    except (AlreadyExists, LimitExceeded) as exc:
        raise InvalidRequest(str(exc)) from None
    return {"Group": group_json(ctx, record)}


async def get_group(ctx: ApiContext, body: dict[str, Any]) -> dict[str, Any]:
    group = await run_in_threadpool(resolve_group, ctx, body.get("GroupName"), body.get("GroupARN"))
    return {"Group": group_json(ctx, group)}


async def get_groups(ctx: ApiContext, body: dict[str, Any]) -> dict[str, Any]:
    validate.no_next_token(body)
    groups = await run_in_threadpool(ctx.config.list_groups)
    return {"Groups": [group_json(ctx, g) for g in groups]}


def _update(ctx: ApiContext, body: dict[str, Any]) -> GroupRecord:
    group = resolve_group(ctx, body.get("GroupName"), body.get("GroupARN"))
    expression = group.filter_expression
    if "FilterExpression" in body and body["FilterExpression"] is not None:
        if group.name == DEFAULT:
            raise InvalidRequest("The filter expression of the Default group cannot be changed")
        expression = _filter(ctx, body["FilterExpression"], group.name)
    insights = _insights(body.get("InsightsConfiguration"), group.insights)
    record = GroupRecord(group.name, group.group_id, expression, insights, group.tags)
    try:
        ctx.config.update_group(record)
    except NotFound:
        raise InvalidRequest(f"Group not found: {group.name}") from None
    return record


async def update_group(ctx: ApiContext, body: dict[str, Any]) -> dict[str, Any]:
    record = await run_in_threadpool(_update, ctx, body)
    return {"Group": group_json(ctx, record)}


def _delete(ctx: ApiContext, body: dict[str, Any]) -> None:
    group = resolve_group(ctx, body.get("GroupName"), body.get("GroupARN"))
    if group.name == DEFAULT:
        raise InvalidRequest("The Default group cannot be deleted")
    try:
        ctx.config.delete_group(group.name)
    except NotFound:
        raise InvalidRequest(f"Group not found: {group.name}") from None


async def delete_group(ctx: ApiContext, body: dict[str, Any]) -> dict[str, Any]:
    await run_in_threadpool(_delete, ctx, body)
    return {}


HANDLERS: dict[str, Handler] = {
    "CreateGroup": create_group,
    "GetGroup": get_group,
    "GetGroups": get_groups,
    "UpdateGroup": update_group,
    "DeleteGroup": delete_group,
}

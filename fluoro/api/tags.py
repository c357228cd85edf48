"""TagResource, UntagResource, ListTagsForResource on sampling rules and groups, by ARN."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool

from fluoro.api import arns, validate
from fluoro.api.context import ApiContext, Handler
from fluoro.api.errors import InvalidRequest, ResourceNotFound, TooManyTags
from fluoro.store import api as store_api
from fluoro.store.api import ResourceRef


def _resource(ctx: ApiContext, body: dict[str, Any]) -> tuple[str, ResourceRef]:
    arn = validate.string(body.get("ResourceARN"), "ResourceARN", min_len=1, max_len=1011)
    assert arn is not None
    ref = arns.parse(ctx, arn)
    if ref is None:
        raise ResourceNotFound(f"Resource {arn} not found: not an X-Ray sampling rule or group ARN of "
                               f"account {ctx.account_id} in {ctx.region}", ResourceName=arn)  # fmt: skip
    return arn, ref


def _change(ctx: ApiContext, arn: str, ref: ResourceRef, add: dict[str, str], remove: list[str]) -> dict[str, str]:
    try:
        return ctx.config.change_tags(ref, add, remove, validate.MAX_TAGS)
    except store_api.NotFound:
        raise ResourceNotFound(f"Resource {arn} not found", ResourceName=arn) from None
    except store_api.TooManyTags as exc:
        raise TooManyTags(str(exc), ResourceName=arn) from None


async def tag_resource(ctx: ApiContext, body: dict[str, Any]) -> dict[str, Any]:
    arn, ref = _resource(ctx, body)
    if body.get("Tags") is None:
        raise InvalidRequest("Tags is required")
    add = validate.tags(body["Tags"])
    await run_in_threadpool(_change, ctx, arn, ref, add, [])
    return {}


async def untag_resource(ctx: ApiContext, body: dict[str, Any]) -> dict[str, Any]:
    arn, ref = _resource(ctx, body)
    keys = body.get("TagKeys")
    if not isinstance(keys, list):
        raise InvalidRequest("TagKeys is required and must be a list of tag keys")
    if len(keys) > 200:
        raise InvalidRequest("TagKeys must have at most 200 entries")
    remove = [validate.tag_key(k, f"TagKeys[{i}]") for i, k in enumerate(keys)]
    for i, key in enumerate(remove):
        if key.lower().startswith("aws:"):
            raise InvalidRequest(f"TagKeys[{i}]: system tags (aws: prefix) cannot be removed")
    await run_in_threadpool(_change, ctx, arn, ref, {}, remove)
    return {}


async def list_tags_for_resource(ctx: ApiContext, body: dict[str, Any]) -> dict[str, Any]:
    arn, ref = _resource(ctx, body)
    validate.no_next_token(body)
    tags = await run_in_threadpool(_change, ctx, arn, ref, {}, [])
    return {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}


HANDLERS: dict[str, Handler] = {
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
    "ListTagsForResource": list_tags_for_resource,
}

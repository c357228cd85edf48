"""X-Ray ARNs for the resources fluoro keeps: sampling rules and groups.

``arn:aws:xray:<region>:<account>:sampling-rule/<name>`` and
``arn:aws:xray:<region>:<account>:group/<name>/<id>``; region and account come
from the server's identity (``ApiContext``), so an ARN naming another
account or region does not resolve.
"""

from __future__ import annotations

from fluoro.api.context import ApiContext
from fluoro.store.api import ResourceRef


def _prefix(ctx: ApiContext) -> str:
    return f"arn:aws:xray:{ctx.region}:{ctx.account_id}:"


def rule_arn(ctx: ApiContext, name: str) -> str:
    return f"{_prefix(ctx)}sampling-rule/{name}"


def group_arn(ctx: ApiContext, name: str, group_id: str) -> str:
    return f"{_prefix(ctx)}group/{name}/{group_id}"


def parse(ctx: ApiContext, arn: str) -> ResourceRef | None:
    """The resource an ARN names in this account and region, or None."""
    prefix = _prefix(ctx)
    if not arn.startswith(prefix):
        return None
    parts = arn[len(prefix) :].split("/")
    if len(parts) == 2 and parts[0] == "sampling-rule" and parts[1]:
        return ResourceRef("sampling-rule", parts[1])
    if len(parts) == 3 and parts[0] == "group" and parts[1] and parts[2]:
        return ResourceRef("group", parts[1], parts[2])
    return None

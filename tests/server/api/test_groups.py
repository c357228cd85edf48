"""Groups, the group resolver other handlers use, and tags on groups and rules."""

from __future__ import annotations

import re
from typing import Any, Iterator

import pytest

from fluoro.api.errors import InvalidRequest
from fluoro.api.groups import group_filter, resolve_group
from fluoro.server import FluoroServer

from .test_sampling import post

ARN = re.compile(r"arn:aws:xray:us-east-1:000000000000:group/([A-Za-z0-9-]+)/([A-Z2-7]+)")


@pytest.fixture
def groups(xray: Any) -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    for name in names:
        try:
            xray.delete_group(GroupName=name)
        except xray.exceptions.InvalidRequestException:
            pass


def test_default_group_exists_and_is_protected(xray: Any) -> None:
    (default,) = [g for g in xray.get_groups()["Groups"] if g["GroupName"] == "Default"]
    match = ARN.fullmatch(default["GroupARN"])
    assert match and match.group(1) == "Default" and "FilterExpression" not in default
    assert xray.get_group(GroupARN=default["GroupARN"])["Group"] == default
    with pytest.raises(xray.exceptions.InvalidRequestException, match="Default group cannot be deleted"):
        xray.delete_group(GroupName="Default")
    with pytest.raises(xray.exceptions.InvalidRequestException, match="Default is a reserved group name"):
        xray.create_group(GroupName="Default", FilterExpression="fault")
    with pytest.raises(xray.exceptions.InvalidRequestException, match="cannot be changed"):
        xray.update_group(GroupName="Default", FilterExpression="fault")


def test_group_round_trip(xray: Any, groups: list[str]) -> None:
    created = xray.create_group(GroupName="checkout-errors", FilterExpression="error OR fault",
                                InsightsConfiguration={"InsightsEnabled": True},
                                Tags=[{"Key": "owner", "Value": "team-a"}])["Group"]  # fmt: skip
    groups.append("checkout-errors")
    assert ARN.fullmatch(created["GroupARN"]).group(1) == "checkout-errors"  # type: ignore[union-attr]
    assert created["FilterExpression"] == "error OR fault"
    assert created["InsightsConfiguration"] == {"InsightsEnabled": True, "NotificationsEnabled": False}
    assert xray.get_group(GroupName="checkout-errors")["Group"] == created
    with pytest.raises(xray.exceptions.InvalidRequestException, match="already exists"):
        xray.create_group(GroupName="checkout-errors")

    updated = xray.update_group(GroupARN=created["GroupARN"], FilterExpression="responsetime > 2",
                                InsightsConfiguration={"NotificationsEnabled": True})["Group"]  # fmt: skip
    assert updated["FilterExpression"] == "responsetime > 2" and updated["GroupARN"] == created["GroupARN"]
    assert updated["InsightsConfiguration"] == {"InsightsEnabled": True, "NotificationsEnabled": True}
    assert created["GroupARN"] in [g["GroupARN"] for g in xray.get_groups()["Groups"]]
    assert xray.list_tags_for_resource(ResourceARN=created["GroupARN"])["Tags"] == [{"Key": "owner", "Value": "team-a"}]

    xray.delete_group(GroupARN=created["GroupARN"])
    with pytest.raises(xray.exceptions.InvalidRequestException, match="Group not found"):
        xray.get_group(GroupName="checkout-errors")
    # A new group of the same name is a new resource: the old ARN does not reach it.
    again = xray.create_group(GroupName="checkout-errors")["Group"]
    assert again["GroupARN"] != created["GroupARN"] and "FilterExpression" not in again
    with pytest.raises(xray.exceptions.InvalidRequestException, match="Group not found"):
        xray.get_group(GroupARN=created["GroupARN"])


@pytest.mark.parametrize(("body", "message"), [
    ({"GroupName": "a" * 33}, "GroupName must be at most 32"),
    ({"GroupName": ""}, "GroupName must be at least 1"),
    ({"GroupName": "under_score"}, "only letters, numbers and hyphens"),
    ({"GroupName": "ok", "FilterExpression": "responsetime >"}, "Invalid FilterExpression"),
    ({"GroupName": "ok", "InsightsConfiguration": {"NotificationsEnabled": True}}, "InsightsEnabled set to true"),
    ({"GroupName": "ok", "InsightsConfiguration": {"InsightsEnabled": "yes"}}, "InsightsEnabled must be a boolean"),
    ({"GroupName": "ok", "Tags": [{"Key": "aws:owner", "Value": "x"}]}, "aws: prefix is reserved"),
    ({"GroupName": "ok", "Tags": [{"Key": f"k{i}", "Value": ""} for i in range(51)]}, "at most 50 tags"),
])  # fmt: skip
def test_bad_groups_are_refused(server: FluoroServer, body: dict[str, Any], message: str) -> None:
    resp = post(server, "/CreateGroup", body)
    assert resp.status_code == 400 and message in resp.json()["message"], resp.text


def test_group_limit(xray: Any, groups: list[str]) -> None:
    existing = len(xray.get_groups()["Groups"])
    for i in range(25 - existing):
        xray.create_group(GroupName=f"g-{i}")
        groups.append(f"g-{i}")
    with pytest.raises(xray.exceptions.InvalidRequestException, match="maximum number of groups"):
        xray.create_group(GroupName="one-too-many")


def test_resolver_for_other_handlers(server: FluoroServer, xray: Any, groups: list[str]) -> None:
    from fluoro.api.context import ApiContext

    created = xray.create_group(GroupName="slow", FilterExpression="responsetime > 5")["Group"]
    groups.append("slow")
    store = server.store
    assert store is not None
    ctx = ApiContext(None, None, None, store.config_store())  # type: ignore[arg-type]
    assert group_filter(ctx, {"GroupName": "slow"}) == "responsetime > 5"
    assert group_filter(ctx, {"GroupARN": created["GroupARN"]}) == "responsetime > 5"
    assert group_filter(ctx, {}) is None
    assert group_filter(ctx, {"GroupName": "Default"}) is None
    assert resolve_group(ctx, name="slow").group_id == ARN.fullmatch(created["GroupARN"]).group(2)  # type: ignore[union-attr]
    with pytest.raises(InvalidRequest, match="Group not found"):
        group_filter(ctx, {"GroupName": "missing"})
    with pytest.raises(InvalidRequest, match="different groups"):
        group_filter(ctx, {"GroupName": "Default", "GroupARN": created["GroupARN"]})


def test_tags(xray: Any, groups: list[str]) -> None:
    arn = xray.create_group(GroupName="tagged")["Group"]["GroupARN"]
    groups.append("tagged")
    xray.tag_resource(ResourceARN=arn, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b c", "Value": "x/y=z@w"}])
    xray.tag_resource(ResourceARN=arn, Tags=[{"Key": "a", "Value": "2"}])
    assert xray.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "a", "Value": "2"}, {"Key": "b c", "Value": "x/y=z@w"}]
    xray.untag_resource(ResourceARN=arn, TagKeys=["a", "not-there"])
    assert xray.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "b c", "Value": "x/y=z@w"}]
    xray.tag_resource(ResourceARN=arn, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(49)])
    with pytest.raises(xray.exceptions.TooManyTagsException, match="at most 50"):
        xray.tag_resource(ResourceARN=arn, Tags=[{"Key": "one-more", "Value": "v"}])
    assert len(xray.list_tags_for_resource(ResourceARN=arn)["Tags"]) == 50
    with pytest.raises(xray.exceptions.InvalidRequestException, match="system tags"):
        xray.untag_resource(ResourceARN=arn, TagKeys=["aws:createdBy"])
    with pytest.raises(xray.exceptions.InvalidRequestException, match="may contain only"):
        xray.tag_resource(ResourceARN=arn, Tags=[{"Key": "bad#key", "Value": "v"}])


@pytest.mark.parametrize("arn", [
    "arn:aws:xray:us-east-1:000000000000:group/nope/ABC",
    "arn:aws:xray:eu-west-1:000000000000:sampling-rule/Default",  # another region
    "arn:aws:xray:us-east-1:111111111111:sampling-rule/Default",  # another account
    "arn:aws:xray:us-east-1:000000000000:sampling-rule/missing",
    "not-an-arn",
])  # fmt: skip
def test_tags_on_missing_resources(server: FluoroServer, xray: Any, arn: str) -> None:
    with pytest.raises(xray.exceptions.ResourceNotFoundException):
        xray.list_tags_for_resource(ResourceARN=arn)
    resp = post(server, "/TagResource", {"ResourceARN": arn, "Tags": [{"Key": "k", "Value": "v"}]})
    assert resp.status_code == 404 and resp.json()["ResourceName"] == arn


def test_tags_on_the_default_rule(xray: Any) -> None:
    arn = "arn:aws:xray:us-east-1:000000000000:sampling-rule/Default"
    xray.tag_resource(ResourceARN=arn, Tags=[{"Key": "env", "Value": "dev"}])
    assert {"Key": "env", "Value": "dev"} in xray.list_tags_for_resource(ResourceARN=arn)["Tags"]
    xray.untag_resource(ResourceARN=arn, TagKeys=["env"])
    assert xray.list_tags_for_resource(ResourceARN=arn)["Tags"] == []

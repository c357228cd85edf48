"""PynamoDB against a real local AWS endpoint (moto server)."""

from __future__ import annotations

import pytest
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist
from pynamodb.models import Model

from fluoro.core import patch
from fluoro.ext import pynamodb as pynamodb_ext


@pytest.fixture(autouse=True, scope="module")
def _patched():  # type: ignore[no-untyped-def]
    patch(("pynamodb",))  # also patches botocore, for good, as tests/ext/test_botocore.py does
    yield
    pynamodb_ext.unpatch()


@pytest.fixture
def user_model(aws_endpoint):  # type: ignore[no-untyped-def]
    class User(Model):
        class Meta:
            table_name = "pynamo_users"
            host = aws_endpoint
            region = "us-east-1"

        name = UnicodeAttribute(hash_key=True)
        age = NumberAttribute(default=0)

    if not User.exists():
        User.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
    return User


def test_each_call_is_one_dynamodb_subsegment(recorder, user_model) -> None:  # type: ignore[no-untyped-def]
    recorder.begin_segment("app")
    user_model("ada", age=36).save()
    assert user_model.get("ada").age == 36
    with pytest.raises(DoesNotExist):
        user_model.get("nobody")
    recorder.end_segment()
    subs = recorder.captured.documents[0]["subsegments"]
    assert [(s["name"], s["namespace"], s["aws"]["operation"]) for s in subs] == [
        ("dynamodb", "aws", "PutItem"), ("dynamodb", "aws", "GetItem"), ("dynamodb", "aws", "GetItem")]
    assert all("subsegments" not in s for s in subs), "botocore and the HTTP hook do not both record"
    put = subs[0]
    assert put["aws"]["table_name"] == "pynamo_users" and put["aws"]["region"] == "us-east-1"
    assert put["aws"]["request_id"] and put["http"]["response"]["status"] == 200


def test_http_hook_records_when_botocore_did_not(recorder, aws_endpoint) -> None:  # type: ignore[no-untyped-def]
    # The HTTP-level hook alone (as upstream's): a DynamoDB request sent outside botocore's patcher.
    import json

    import botocore.awsrequest
    import botocore.httpsession

    body = json.dumps({"TableName": "pynamo_users"}).encode()
    request = botocore.awsrequest.AWSRequest(
        method="POST", url=aws_endpoint + "/", data=body,
        headers={"X-Amz-Target": "DynamoDB_20120810.DescribeTable", "Content-Type": "application/x-amz-json-1.0",
                 "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20200101/us-east-1/dynamodb/aws4_request, "
                                  "SignedHeaders=host, Signature=x"}).prepare()
    with recorder.in_segment("app"):
        botocore.httpsession.URLLib3Session().send(request)
    (sub,) = recorder.captured.documents[0]["subsegments"]
    assert sub["name"] == "dynamodb" and sub["namespace"] == "aws"
    assert sub["aws"]["operation"] == "DescribeTable" and sub["aws"]["table_name"] == "pynamo_users"
    assert "status" in sub["http"]["response"]

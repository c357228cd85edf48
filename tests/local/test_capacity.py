"""The provisioned-capacity proxy in front of a real moto server, driven with boto3."""

from __future__ import annotations

from typing import Any, Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from fluoro.local.capacity import CapacityProxy
from fluoro.local.resources import MotoServer


@pytest.fixture(scope="module")
def proxy() -> Iterator[CapacityProxy]:
    moto = MotoServer()
    moto.start()
    capacity = CapacityProxy(moto.endpoint).start()
    try:
        yield capacity
    finally:
        capacity.stop()
        moto.stop()


def client(service: str, endpoint: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="t",
                        aws_secret_access_key="t", config=Config(retries={"total_max_attempts": 1}))


def create(dynamodb: Any, name: str, **billing: Any) -> None:
    dynamodb.create_table(TableName=name, AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                          KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}], **billing)


def test_writes_beyond_provisioned_capacity_get_dynamodbs_throttling_error(proxy: CapacityProxy) -> None:
    dynamodb = client("dynamodb", proxy.endpoint)
    create(dynamodb, "small", ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1})
    dynamodb.put_item(TableName="small", Item={"k": {"S": "1"}})
    with pytest.raises(ClientError) as raised:
        dynamodb.put_item(TableName="small", Item={"k": {"S": "2"}})
    error = raised.value.response
    assert error["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    # Reads are not limited, and the throttled item was never written.
    assert [i["k"]["S"] for i in dynamodb.scan(TableName="small")["Items"]] == ["1"]


def test_on_demand_tables_and_other_services_pass_through(proxy: CapacityProxy) -> None:
    dynamodb = client("dynamodb", proxy.endpoint)
    create(dynamodb, "ondemand", BillingMode="PAY_PER_REQUEST")
    for i in range(5):
        dynamodb.put_item(TableName="ondemand", Item={"k": {"S": str(i)}})
    assert dynamodb.scan(TableName="ondemand")["Count"] == 5
    s3 = client("s3", proxy.endpoint)
    s3.create_bucket(Bucket="files")
    s3.put_object(Bucket="files", Key="a/b.txt", Body=b"hello")
    assert s3.get_object(Bucket="files", Key="a/b.txt")["Body"].read() == b"hello"
    with pytest.raises(ClientError) as raised:
        s3.get_object(Bucket="files", Key="missing")
    assert raised.value.response["Error"]["Code"] == "NoSuchKey"

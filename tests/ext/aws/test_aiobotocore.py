"""aiobotocore (and aioboto3) against a real local AWS endpoint (moto server); upstream as the oracle."""

from __future__ import annotations

import asyncio

import aioboto3
import aiobotocore.session
import pytest
from botocore.exceptions import ClientError

from fluoro.core import patch

from ..oracle import assert_same, run_both, upstream_patched

patch(("aioboto3",))
UPSTREAM_TARGETS = [("aiobotocore.client", "AioBaseClient._make_api_call"),
                    ("aiobotocore.endpoint", "AioEndpoint.prepare_request")]


async def _calls(endpoint: str, table: str) -> None:
    session = aiobotocore.session.get_session()
    async with session.create_client("dynamodb", endpoint_url=endpoint, region_name="us-east-1") as client:
        try:
            await client.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                                      AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                                      KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
        except client.exceptions.ResourceInUseException:
            pass
        await client.put_item(TableName=table, Item={"id": {"S": "1"}})
        await client.get_item(TableName=table, Key={"id": {"S": "1"}})
        try:
            await client.describe_table(TableName="missing")
        except ClientError:
            pass


def _without_request_ids(shapes: list) -> list:
    for doc in shapes:
        for sub in doc.get("subsegments", []):
            assert sub["aws"].pop("request_id")
    return shapes


def test_same_subsegments_as_upstream(recorders, aws_endpoint) -> None:  # type: ignore[no-untyped-def]
    def scenario(rec) -> None:  # type: ignore[no-untyped-def]
        async def run() -> None:
            async with rec.in_segment_async("app"):
                await _calls(aws_endpoint, "aio_users")
        asyncio.run(run())

    with upstream_patched("aiobotocore", UPSTREAM_TARGETS, flags=[("aiobotocore.client", "_xray_enabled")]):
        result = run_both(recorders, scenario)
    result = {sdk: _without_request_ids(shapes) for sdk, shapes in result.items()}
    # The first run created the table; the second got ResourceInUse: compare from put_item on.
    for shapes in result.values():
        shapes[0]["subsegments"] = shapes[0]["subsegments"][1:]
    # Deliberate: a 4xx ClientError (GetItem on a missing table) is an error, not a fault;
    # upstream marks it both.
    assert result["upstream"][0]["subsegments"][-1].pop("fault") is True
    assert "fault" not in result["fluoro"][0]["subsegments"][-1]
    assert_same(result)
    put, get, missing = result["fluoro"][0]["subsegments"]
    assert put["name"] == "dynamodb" and put["namespace"] == "aws"
    assert put["aws"] == {"operation": "PutItem", "region": "us-east-1", "table_name": "aio_users"}
    assert get["aws"]["operation"] == "GetItem" and get["http"]["response"]["status"] == 200
    assert missing["error"] is True and missing["exceptions"][0][2] is True


@pytest.mark.asyncio
async def test_aioboto3_and_trace_header(recorder, aws_endpoint) -> None:  # type: ignore[no-untyped-def]
    seen: list = []
    segment = recorder.begin_segment("app")
    async with aioboto3.Session().client("s3", endpoint_url=aws_endpoint, region_name="us-east-1") as s3:
        s3.meta.events.register("before-send.s3.*", lambda request, **kw: seen.append(dict(request.headers)))
        await s3.create_bucket(Bucket="aio-files")
        await s3.put_object(Bucket="aio-files", Key="k.txt", Body=b"x")
    recorder.end_segment()
    create, put = recorder.captured.documents[0]["subsegments"]
    assert put["aws"]["operation"] == "PutObject" and put["aws"]["bucket_name"] == "aio-files"
    header = seen[-1]["X-Amzn-Trace-Id"]
    header = header.decode() if isinstance(header, bytes) else header
    assert header == "Root=%s;Parent=%s;Sampled=1" % (segment.trace_id, put["id"])


@pytest.mark.asyncio
async def test_concurrent_calls_are_siblings(recorder, aws_endpoint) -> None:  # type: ignore[no-untyped-def]
    recorder.begin_segment("app")
    session = aiobotocore.session.get_session()
    async with session.create_client("sqs", endpoint_url=aws_endpoint, region_name="us-east-1") as sqs:
        await asyncio.gather(*(sqs.create_queue(QueueName="q%d" % i) for i in range(3)))
    recorder.end_segment()
    subs = recorder.captured.documents[0]["subsegments"]
    assert [s["aws"]["operation"] for s in subs] == ["CreateQueue"] * 3
    assert all("subsegments" not in s for s in subs)

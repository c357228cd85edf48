"""The botocore/boto3 patcher against a real local AWS endpoint (moto server)."""

from __future__ import annotations

import boto3
import botocore.config
import botocore.exceptions
import pytest

from fluoro.core import patch

patch(("botocore",))


def _walk(doc: dict):  # type: ignore[no-untyped-def]
    for sub in doc.get("subsegments", []):
        yield sub
        yield from _walk(sub)


@pytest.fixture
def dynamodb(aws_endpoint):  # type: ignore[no-untyped-def]
    client = boto3.client("dynamodb", endpoint_url=aws_endpoint)
    try:
        client.create_table(TableName="users", BillingMode="PAY_PER_REQUEST",
                            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    except client.exceptions.ResourceInUseException:
        pass
    return client


@pytest.fixture
def s3(aws_endpoint):  # type: ignore[no-untyped-def]
    client = boto3.client("s3", endpoint_url=aws_endpoint)
    client.create_bucket(Bucket="files")
    return client


def test_dynamodb_call_is_an_aws_subsegment(recorder, dynamodb) -> None:  # type: ignore[no-untyped-def]
    recorder.begin_segment("app")
    dynamodb.put_item(TableName="users", Item={"id": {"S": "1"}})
    recorder.end_segment()
    (sub,) = recorder.captured.documents[0]["subsegments"]
    assert sub["name"] == "dynamodb"
    assert sub["namespace"] == "aws"
    assert sub["aws"]["operation"] == "PutItem"
    assert sub["aws"]["table_name"] == "users"
    assert sub["aws"]["region"] == "us-east-1"
    assert sub["aws"]["request_id"]
    assert sub["http"]["response"]["status"] == 200
    assert "fault" not in sub and "error" not in sub


def test_s3_params_and_client_error(recorder, s3) -> None:  # type: ignore[no-untyped-def]
    recorder.begin_segment("app")
    s3.put_object(Bucket="files", Key="a/b.txt", Body=b"x")
    with pytest.raises(botocore.exceptions.ClientError):
        s3.get_object(Bucket="files", Key="missing.txt")
    recorder.end_segment()
    ok, missing = recorder.captured.documents[0]["subsegments"]
    assert ok["name"] == "s3" and ok["aws"]["operation"] == "PutObject"
    assert ok["aws"]["bucket_name"] == "files" and ok["aws"]["key"] == "a/b.txt"
    assert missing["aws"]["operation"] == "GetObject"
    assert missing["http"]["response"]["status"] == 404
    assert missing["error"] is True
    exc = missing["cause"]["exceptions"][0]
    assert exc["type"] == "NoSuchKey" and exc["remote"] is True


def test_trace_header_injected_from_the_call_subsegment(recorder, dynamodb) -> None:  # type: ignore[no-untyped-def]
    seen: list = []
    dynamodb.meta.events.register("before-send.dynamodb.*", lambda request, **kw: seen.append(dict(request.headers)))
    segment = recorder.begin_segment("app")
    dynamodb.describe_table(TableName="users")
    recorder.end_segment()
    sub = recorder.captured.documents[0]["subsegments"][0]
    header = seen[-1]["X-Amzn-Trace-Id"]
    header = header.decode() if isinstance(header, bytes) else header
    assert header == "Root=%s;Parent=%s;Sampled=1" % (segment.trace_id, sub["id"])


def test_connection_failure_is_recorded_as_fault(recorder) -> None:  # type: ignore[no-untyped-def]
    # Upstream records nothing for a call that never got an answer; fluoro records the fault.
    client = boto3.client("dynamodb", endpoint_url="http://127.0.0.1:9",
                          config=botocore.config.Config(retries={"max_attempts": 1}, connect_timeout=1))
    recorder.begin_segment("app")
    with pytest.raises(botocore.exceptions.EndpointConnectionError):
        client.list_tables()
    recorder.end_segment()
    sub = recorder.captured.documents[0]["subsegments"][0]
    assert sub["fault"] is True
    assert sub["cause"]["exceptions"][0]["type"] == "EndpointConnectionError"
    assert sub["aws"]["operation"] == "ListTables"


def test_untraced_outside_a_segment_does_not_raise(recorder, dynamodb, caplog) -> None:  # type: ignore[no-untyped-def]
    recorder.configure(context_missing="LOG_ERROR")
    dynamodb.list_tables()
    assert recorder.captured.documents == []


def test_s3_transfer_threads_record_under_the_callers_segment(recorder, s3, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from boto3.s3.transfer import TransferConfig

    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * (12 * 1024 * 1024))
    config = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024, max_concurrency=4)
    segment = recorder.begin_segment("upload")
    s3.upload_file(str(big), "files", "big.bin", Config=config)
    s3.download_file("files", "big.bin", str(tmp_path / "back.bin"), Config=config)
    recorder.end_segment()
    docs = recorder.captured.documents
    assert len(docs) == 1, "no stray documents: every call parented under the segment"
    ops = [sub["aws"]["operation"] for sub in _walk(docs[0]) if sub["name"] == "s3"]
    assert ops.count("UploadPart") == 3
    assert {"CreateMultipartUpload", "CompleteMultipartUpload", "HeadObject", "GetObject"} <= set(ops)
    assert all(sub["trace_id"] == segment.trace_id for sub in _walk(docs[0]))


def test_client_errors_are_errors_and_throttling_codes_are_throttles() -> None:
    """4xx ClientErrors are the caller's errors (not faults); AWS throttling codes set throttle."""
    from botocore.exceptions import ClientError

    from fluoro.core.models.segment import Segment
    from fluoro.core.models.subsegment import Subsegment
    from fluoro.ext.boto_utils import aws_meta_processor

    class Client:
        class meta:  # noqa: N801 - mimics botocore's client.meta
            region_name = "us-east-1"

    def record(code: str, status: int) -> Subsegment:
        sub = Subsegment("dynamodb", "aws", Segment("app"))
        error = ClientError({"Error": {"Code": code, "Message": "m"},
                             "ResponseMetadata": {"RequestId": "r", "HTTPStatusCode": status}}, "PutItem")
        aws_meta_processor(None, Client(), ("PutItem", {"TableName": "t"}), {}, None, error, sub, [])
        return sub

    throttled = record("ProvisionedThroughputExceededException", 400)
    assert (throttled.throttle, throttled.error, throttled.fault) == (True, True, False)
    missing = record("ResourceNotFoundException", 400)
    assert (getattr(missing, "throttle", False), missing.error, missing.fault) == (False, True, False)
    slow_down = record("SlowDown", 503)
    assert (slow_down.throttle, slow_down.error, slow_down.fault) == (True, True, False)
    broken = record("InternalServerError", 500)
    assert broken.fault is True and not getattr(broken, "throttle", False)
    assert broken.cause["exceptions"][0].remote is True

"""The article's three instrumentation styles, as one small service.

Mirrors ``shared/seed/example/src/app.py`` (manual segments and subsegments, the
``capture`` decorator, ``patch_all()`` for boto3) but runs as a plain process: each
request is a segment of its own. Only the import prefix differs from the article.
"""

from __future__ import annotations

import time
import uuid

from fluoro.core import xray_recorder


def manual_subsegments() -> None:
    """Sample 1: begin/end by hand, with an annotation and metadata."""
    xray_recorder.begin_subsegment("subsegment_1")
    time.sleep(0.01)
    sub = xray_recorder.current_subsegment()
    sub.put_annotation("annotation1", "annotation test")
    sub.put_metadata("data", {"key1": "value1"}, "subsegment_1_metadata")
    xray_recorder.begin_subsegment("subsegment_2")
    for name in ("subsegment_3-1", "subsegment_3-2"):
        xray_recorder.begin_subsegment(name)
        time.sleep(0.01)
        xray_recorder.end_subsegment()
    xray_recorder.end_subsegment()
    xray_recorder.end_subsegment()


@xray_recorder.capture("xray_function_sample2")
def decorated() -> None:
    """Sample 2: the decorator records each call as a subsegment."""
    xray_recorder.begin_subsegment("subsegment_1")
    time.sleep(0.01)
    xray_recorder.end_subsegment()


def store_user(dynamodb, s3, table: str, bucket: str, user: dict) -> None:  # type: ignore[no-untyped-def]
    """Sample 3: patched boto3 calls become ``aws`` subsegments."""
    with xray_recorder.in_subsegment("boto test"):
        dynamodb.put_item(TableName=table, Item={k: {"S": v} for k, v in user.items()})
        s3.put_object(Bucket=bucket, Key="users/%s/info.txt" % user["userId"], Body=b"User data")


def handle_request(dynamodb, s3, table: str, bucket: str, name: str, run_id: str = "") -> str:  # type: ignore[no-untyped-def]
    """One request: a segment with the three samples inside it."""
    user = {"userId": str(uuid.uuid4()), "name": name, "email": "%s@example.com" % name}
    with xray_recorder.in_segment("user-service") as segment:
        segment.put_http_meta("method", "POST")
        segment.put_http_meta("url", "http://localhost/dev/users")
        segment.put_annotation("user_name", name)
        if run_id:
            segment.put_annotation("demo_run", run_id)
        segment.set_user(user["userId"])
        manual_subsegments()
        decorated()
        try:
            store_user(dynamodb, s3, table, bucket, user)
            segment.put_http_meta("status", 200)
        except Exception:
            segment.put_http_meta("status", 500)
    return user["userId"]

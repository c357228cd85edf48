"""Account-level operations: encryption config and daemon telemetry."""

from __future__ import annotations

import math
from typing import Any

from fluoro.api.context import ApiContext, Handler
from fluoro.api.errors import InvalidRequest

_COUNTS = ("SegmentsReceivedCount", "SegmentsSentCount", "SegmentsSpilloverCount", "SegmentsRejectedCount")


async def get_encryption_config(ctx: ApiContext, body: dict[str, Any]) -> dict[str, Any]:
    if ctx.encryption.get("Status") == "UPDATING":
        ctx.encryption["Status"] = "ACTIVE"
        return {"EncryptionConfig": {**ctx.encryption, "Status": "UPDATING"}}
    return {"EncryptionConfig": dict(ctx.encryption)}


async def put_encryption_config(ctx: ApiContext, body: dict[str, Any]) -> dict[str, Any]:
    kind = body.get("Type")
    if kind not in ("NONE", "KMS"):
        raise InvalidRequest("Type is required and must be NONE or KMS")
    key = body.get("KeyId")
    if kind == "KMS":
        if not isinstance(key, str) or not 1 <= len(key) <= 3000:
            raise InvalidRequest("KeyId is required for Type KMS and must be 1 to 3000 characters")
        # fluoro stores traces locally; the key is recorded, never used.
        ctx.encryption = {"KeyId": key, "Status": "UPDATING", "Type": "KMS"}
    else:
        ctx.encryption = {"Status": "ACTIVE", "Type": "NONE"}
    return {"EncryptionConfig": dict(ctx.encryption)}


async def put_telemetry_records(ctx: ApiContext, body: dict[str, Any]) -> dict[str, Any]:
    records = body.get("TelemetryRecords")
    if not isinstance(records, list):
        raise InvalidRequest("TelemetryRecords is required and must be a list")
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            raise InvalidRequest(f"TelemetryRecords[{i}] must be an object")
        ts = record.get("Timestamp")
        if isinstance(ts, bool) or not isinstance(ts, (int, float)) or not math.isfinite(ts):
            raise InvalidRequest(f"TelemetryRecords[{i}].Timestamp is required (epoch seconds)")
        for key in _COUNTS:
            value = record.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise InvalidRequest(f"TelemetryRecords[{i}].{key} must be an integer")
    for key, limit in (("EC2InstanceId", 20), ("Hostname", 255), ("ResourceARN", 500)):
        value = body.get(key)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            raise InvalidRequest(f"{key} must be a string of at most {limit} characters")
    source = {k: body.get(k, "") for k in ("EC2InstanceId", "Hostname", "ResourceARN")}
    for record in records:
        ctx.telemetry.append({**source, **record})
    return {}


HANDLERS: dict[str, Handler] = {
    "GetEncryptionConfig": get_encryption_config,
    "PutEncryptionConfig": put_encryption_config,
    "PutTelemetryRecords": put_telemetry_records,
}

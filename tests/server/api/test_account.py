"""Encryption config, telemetry, /metrics and /healthz."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from fluoro.server import FluoroServer


def test_encryption_config_round_trip(xray: Any) -> None:
    assert xray.get_encryption_config()["EncryptionConfig"] == {"Status": "ACTIVE", "Type": "NONE"}
    put = xray.put_encryption_config(Type="KMS", KeyId="alias/mine")["EncryptionConfig"]
    assert put == {"KeyId": "alias/mine", "Status": "UPDATING", "Type": "KMS"}
    xray.get_encryption_config()
    assert xray.get_encryption_config()["EncryptionConfig"]["Status"] == "ACTIVE"
    with pytest.raises(xray.exceptions.InvalidRequestException, match="KeyId is required"):
        xray.put_encryption_config(Type="KMS")
    assert xray.put_encryption_config(Type="NONE")["EncryptionConfig"] == {"Status": "ACTIVE", "Type": "NONE"}


def test_put_telemetry_records_accepts_daemon_shape(xray: Any) -> None:
    record = {
        "Timestamp": time.time(), "SegmentsReceivedCount": 3, "SegmentsSentCount": 3,
        "SegmentsSpilloverCount": 0, "SegmentsRejectedCount": 0,
        "BackendConnectionErrors": {"TimeoutCount": 0, "ConnectionRefusedCount": 0, "HTTPCode4XXCount": 0,
                                    "HTTPCode5XXCount": 0, "UnknownHostCount": 0, "OtherCount": 0},
    }  # fmt: skip
    out = xray.put_telemetry_records(TelemetryRecords=[record], EC2InstanceId="", Hostname="")
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_metrics_and_healthz(server: FluoroServer) -> None:
    base = f"http://127.0.0.1:{server.port}"
    assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
    text = httpx.get(f"{base}/metrics").text
    for name in ("fluoro_segments_received_total", "fluoro_segments_rejected_total", "fluoro_segments_dropped_total",
                 "fluoro_segments_stored_total", "fluoro_queue_depth", "fluoro_flush_seconds_sum"):  # fmt: skip
        assert f"\n{name}" in "\n" + text

"""Hostile input over UDP and HTTP: rejects are counted, valid neighbours are stored, nothing crashes."""

from __future__ import annotations

import json
import math
import signal
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fluoro.ingest import Reject, ingest, split_datagram
from fluoro.server import FluoroServer
from fluoro.store.api import SegmentBatch

from .helpers import HEADER, free_port, send_udp, spawn_server, wait_for, xray_client
from .helpers_docs import new_trace_id, segment

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
field_values = st.one_of(
    json_values,
    st.sampled_from([-1, 0, -1e300, 1e300, "NaN", "", "\x00", "\ud800", "𝕏" * 300, "1-zz", "0" * 16]),
)
KEYS = ["id", "trace_id", "name", "start_time", "end_time", "in_progress", "parent_id", "type", "subsegments",
        "annotations", "http", "user", "cause", "fault", "origin"]  # fmt: skip


@st.composite
def mangled_documents(draw: Any) -> bytes:
    """A valid document with fields replaced, removed, nested or truncated."""
    doc: dict[str, Any] = {"id": "0123456789abcdef", "trace_id": "1-5f187253-6a106696d56b1f4ef9eba2ed",
                           "name": "svc", "start_time": 1700000000.5, "end_time": 1700000001.0}  # fmt: skip
    for key in draw(st.lists(st.sampled_from(KEYS), max_size=4)):
        if draw(st.booleans()):
            doc[key] = draw(field_values)
        else:
            doc.pop(key, None)
    raw = json.dumps(doc, allow_nan=True).encode("utf-8", "surrogatepass")
    how = draw(st.sampled_from(["as-is", "truncate", "deep", "garbage", "huge"]))
    if how == "truncate":
        raw = raw[: draw(st.integers(0, max(0, len(raw) - 1)))]
    elif how == "deep":
        depth = draw(st.integers(30, 5000))
        raw = raw[:-1] + b',"subsegments":' + b'[{"subsegments":' * depth + b"[]" + b"}]" * depth + b"}"
    elif how == "garbage":
        raw = draw(st.binary(max_size=200))
    elif how == "huge":
        raw = raw[:-1] + b',"metadata":{"x":"' + b"a" * 70_000 + b'"}}'
    return raw


@given(mangled_documents())
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_ingest_only_ever_rejects(raw: bytes) -> None:
    batch = SegmentBatch()
    try:
        ingest(batch, raw, 1.0)
    except Reject as exc:
        assert exc.code and len(batch) == 0
        return
    assert len(batch) == 1
    assert math.isfinite(batch.start_time[0]) and batch.start_time[0] > 0
    assert len(batch.trace_id[0]) == 35 and len(batch.id[0]) == 16


@given(st.binary(max_size=300))
@settings(max_examples=300)
def test_datagram_split_only_ever_rejects(data: bytes) -> None:
    try:
        body = split_datagram(data)
    except Reject:
        return
    assert body.strip()


@given(st.lists(mangled_documents(), min_size=1, max_size=8))
@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
          deadline=None)  # fmt: skip
def test_udp_hostile_neighbours(server: FluoroServer, xray: Any, payloads: list[bytes]) -> None:
    good = segment(new_trace_id())
    before = sum(server.metrics.rejected.values())
    # 65507 bytes is the largest IPv4 UDP payload; bigger ones cannot be sent at all.
    datagrams = [(HEADER + p)[:65507] for p in payloads] + [b"no header at all", b'{"format":"xml","version":1}\nx']
    datagrams.insert(len(datagrams) // 2, HEADER + json.dumps(good).encode())
    send_udp(server.port, datagrams, header=b"")
    assert wait_for(lambda: xray.batch_get_traces(TraceIds=[good["trace_id"]])["Traces"])
    assert sum(server.metrics.rejected.values()) >= before + 2


@given(st.lists(mangled_documents(), min_size=1, max_size=8))
@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
          deadline=None)  # fmt: skip
def test_http_hostile_neighbours(server: FluoroServer, xray: Any, payloads: list[bytes]) -> None:
    good = segment(new_trace_id())
    docs: list[Any] = [p.decode("utf-8", "replace") for p in payloads] + [json.dumps(good), 42, None]
    r = httpx.post(f"http://127.0.0.1:{server.port}/TraceSegments", json={"TraceSegmentDocuments": docs})
    assert r.status_code == 200, r.text
    unprocessed = r.json()["UnprocessedTraceSegments"]
    assert len(unprocessed) >= 2 and all(u["ErrorCode"] and u["Message"] for u in unprocessed)
    assert xray.batch_get_traces(TraceIds=[good["trace_id"]])["Traces"]


NASTY = [
    b"",
    b"\n",
    b"no header at all",
    b'{"format":"json","version":1}',
    b'{"format":"json","version":1}\n{"id":',
    b'{"format":"json","version":1}\n' + b"[" * 60_000,
    b'{"format":"json","version":1}\n{"id":"0123456789abcdef","trace_id":"1-5f187253-6a106696d56b1f4ef9eba2ed",'
    b'"name":"x","start_time":NaN,"end_time":2}',
    b'{"format":"json","version":1}\n{"id":"0123456789abcdef","trace_id":"1-5f187253-6a106696d56b1f4ef9eba2ed",'
    b'"name":"x","start_time":-5,"end_time":2}',
    b'{"format":"json","version":1}\n\xff\xfe\x00garbage',
    b'{"format":"json","version":1}\n{"name":"\\ud800"}',
    b'{"format":"json","version":1}\n' + b'{"a":"' + b"x" * 65_400 + b'"}',
]


def test_receiver_process_counts_rejects_and_keeps_neighbours(tmp_path: Path) -> None:
    """The same hostile input through the CLI server's UDP receiver process."""
    port = free_port()
    proc = spawn_server(port, str(tmp_path / "t.duckdb"))
    try:
        good = [segment(new_trace_id()) for _ in range(len(NASTY))]
        datagrams: list[bytes] = []
        for bad, doc in zip(NASTY, good):
            datagrams += [bad, HEADER + json.dumps(doc).encode()]
        send_udp(port, datagrams, header=b"")
        xray = xray_client(port)

        def stored() -> bool:
            ids = [d["trace_id"] for d in good]
            return sum(len(xray.batch_get_traces(TraceIds=ids[i : i + 5])["Traces"]) for i in range(0, len(ids), 5)) == len(ids)

        assert wait_for(stored)
        text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        rejected = sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                       if line.startswith("fluoro_segments_rejected_total{"))  # fmt: skip
        assert rejected >= len(NASTY) - 1  # an empty datagram may never be delivered
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)

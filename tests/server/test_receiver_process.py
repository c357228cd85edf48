"""The CLI server's UDP receiver process packs documents for the DuckDB store; HTTP documents
are packed by the writer.  Both kinds, in one flush, read back exactly as sent."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

from .helpers import free_port, send_udp, spawn_server, wait_for, xray_client
from .helpers_docs import new_id, new_trace_id, segment


def _documents(xray: Any, trace_ids: list[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(trace_ids), 5):
        for trace in xray.batch_get_traces(TraceIds=trace_ids[i : i + 5])["Traces"]:
            for seg in trace["Segments"]:
                out[seg["Id"]] = json.loads(seg["Document"])
    return out


def test_udp_and_http_documents_in_one_flush_read_back_as_sent(tmp_path: Path) -> None:
    port = free_port()
    # A long interval: the HTTP acknowledgement is what flushes the UDP documents queued before it.
    proc = spawn_server(port, str(tmp_path / "t.duckdb"), "--flush-interval", "5")
    try:
        now = time.time()
        udp_docs, http_docs = [], []
        for i in range(20):
            trace_id = new_trace_id(now)
            sub = {"id": new_id(), "name": "dynamodb", "start_time": now + 0.01, "end_time": now + 0.02,
                   "namespace": "aws", "aws": {"operation": "GetItem", "table_name": trace_id}}  # fmt: skip
            # Times whose shortest text is not what the document holds, and an integer time.
            udp_docs.append(segment(trace_id, name="front", start_time=now + i * 1e-7, end_time=now + 1.5,
                                    subsegments=[sub], annotations={"i": i}))  # fmt: skip
            http_docs.append(segment(trace_id, name="back", parent_id=sub["id"], start_time=int(now),
                                     end_time=now + 0.015))  # fmt: skip
        # One segment sent in progress over UDP, completed over HTTP; and the other way round.
        moved = [segment(new_trace_id(now), name="moving") for _ in range(2)]
        in_progress = [{k: v for k, v in d.items() if k != "end_time"} | {"in_progress": True} for d in moved]
        send_udp(port, [json.dumps(d).encode() for d in [*udp_docs, in_progress[0], moved[1]]])
        time.sleep(0.5)  # the receiver process ships within 0.1 s; the writer waits for the interval
        xray = xray_client(port)
        out = xray.put_trace_segments(TraceSegmentDocuments=[json.dumps(d) for d in [*http_docs, moved[0]]])
        assert out["UnprocessedTraceSegments"] == []
        out = xray.put_trace_segments(TraceSegmentDocuments=[json.dumps(in_progress[1])])
        assert out["UnprocessedTraceSegments"] == []
        sent = {d["id"]: d for d in [*udp_docs, *http_docs, *moved]}
        trace_ids = sorted({d["trace_id"] for d in sent.values()})
        assert wait_for(lambda: set(sent) <= set(_documents(xray, trace_ids)), timeout=30)
        got = _documents(xray, trace_ids)  # with the inferred DynamoDB segments besides
        assert {k: v for k, v in got.items() if k in sent} == sent
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)

"""Round-trip the published BatchGetTraces outputs: send what the SDKs sent, read back the same shape."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from .api.conftest import server  # noqa: F401 - the published traces round-trip through both backends
from .helpers import FIXTURES, load_fixture


def _traces(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, list):
        return value
    if "Traces" in value:
        return list(value["Traces"])
    if "Segments" in value:
        return [value]
    return []


def _doc(entry: dict[str, Any]) -> dict[str, Any]:
    doc = entry.get("Document", entry)
    return json.loads(doc) if isinstance(doc, str) else doc


# Files holding whole traces; one published excerpt is a single segment entry, not a trace.
FILES = sorted(p.name for p in (FIXTURES / "batch-get-traces").glob("*.json")
               if _traces(load_fixture("batch-get-traces", p.name)))


@pytest.mark.parametrize("name", FILES)
def test_batch_get_traces_matches_published_shape(xray: Any, name: str) -> None:
    traces = _traces(load_fixture("batch-get-traces", name))
    for published in traces:
        docs = [_doc(e) for e in published["Segments"]]
        real = [d for d in docs if not d.get("inferred")]
        top = real or docs  # an excerpt of inferred segments only is stored as given
        sent = _stream_large(json.loads(json.dumps(top)))
        result = xray.put_trace_segments(TraceSegmentDocuments=[json.dumps(d) for d in sent])
        assert result["UnprocessedTraceSegments"] == []
        out = xray.batch_get_traces(TraceIds=[published["Id"]])
        assert out["UnprocessedTraceIds"] == []
        (trace,) = out["Traces"]
        got = [json.loads(s["Document"]) for s in trace["Segments"]]
        assert all(isinstance(s["Document"], str) and s["Id"] == json.loads(s["Document"])["id"]
                   for s in trace["Segments"])  # fmt: skip
        assert {d["id"] for d in top} <= {d["id"] for d in got}
        sub_ids = {e.get("id") for d in top for e in _all(d)}
        assert sub_ids <= {e.get("id") for d in got for e in _all(d)}
        expected = Counter(
            (d["parent_id"], d.get("origin")) for d in docs if d.get("inferred") and d["parent_id"] in sub_ids
        )
        inferred = Counter((d["parent_id"], d.get("origin")) for d in got if d.get("inferred"))
        assert expected - inferred == Counter(), f"missing inferred segments in {name}"
        for d in got:
            assert d["trace_id"] == published["Id"] and "start_time" in d
        if "Duration" in published and real:
            # Some fixtures are excerpts of a longer trace: never longer than published.
            assert trace["Duration"] <= published["Duration"] + 0.002
        if name.startswith(("awscli", "devguide-scorekeep", "osp7")):
            assert trace["Duration"] == pytest.approx(published.get("Duration", trace["Duration"]), abs=0.002)
            assert len(got) == len(docs)


def _stream_large(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Send oversized segments as an SDK streams them: subsegments as their own documents."""
    out = []
    for doc in docs:
        if len(json.dumps(doc)) < 60_000:
            out.append(doc)
            continue
        subs = doc.pop("subsegments", [])
        out.append(doc)
        for sub in subs:
            out.append({**sub, "type": "subsegment", "trace_id": doc["trace_id"], "parent_id": doc["id"]})
    return out


def _all(doc: dict[str, Any]) -> list[dict[str, Any]]:
    out = [doc]
    for sub in doc.get("subsegments", []) or []:
        out.extend(_all(sub))
    return out

"""The same scenarios through aws-xray-sdk 2.15 and fluoro: the documents must match.

Each scenario is a function of (recorder, Subsegment-free public API) run against both
SDKs with capturing emitters; documents are compared after normalizing what is random
or environmental (ids, times, trace ids, working directory, SDK name and version,
stack line numbers). Deliberate differences are asserted separately, with the reason.
"""

from __future__ import annotations

import logging
import os
import time

import aws_xray_sdk.core.async_recorder as upstream_recorder
import aws_xray_sdk.core.context as upstream_context
import aws_xray_sdk.core.sampling.local.sampler as upstream_sampler
import pytest

import fluoro.core.async_recorder as fluoro_recorder
import fluoro.core.context as fluoro_context
import fluoro.core.sampling.local.sampler as fluoro_sampler
from fluoro.core.emitters.memory import InMemoryEmitter

SDKS = {
    "upstream": (upstream_recorder.AsyncAWSXRayRecorder, upstream_context.Context, upstream_sampler.LocalSampler),
    "fluoro": (fluoro_recorder.AsyncAWSXRayRecorder, fluoro_context.Context, fluoro_sampler.LocalSampler),
}



def _recorder(sdk: str, **config):  # type: ignore[no-untyped-def]
    recorder_cls, context_cls, sampler_cls = SDKS[sdk]
    recorder = recorder_cls()
    recorder.configure(emitter=InMemoryEmitter(), context=context_cls(), sampler=sampler_cls(), sampling=False,
                       service="svc", **config)
    return recorder


def _normalize(doc: object, ids: dict) -> object:
    """Replace random and environmental values by stable placeholders."""
    if isinstance(doc, dict):
        out = {}
        # Sorted keys: placeholders are numbered the same whatever each SDK's field order.
        for key in sorted(doc):
            value = doc[key]
            if key in ("id", "parent_id", "trace_id") and isinstance(value, str):
                out[key] = ids.setdefault(value, "%s#%d" % (key.split("_")[0], len(ids)))
            elif key in ("start_time", "end_time"):
                out[key] = "<time>"
            elif key == "working_directory":
                out[key] = "<cwd>"
            elif key == "line":
                out[key] = "<line>"
            elif key == "xray" and isinstance(value, dict):
                out[key] = {k: v for k, v in value.items() if k not in ("sdk", "sdk_version")}
            elif key == "cause" and isinstance(value, str):
                out[key] = ids.setdefault(value, "cause#%d" % len(ids))
            else:
                out[key] = _normalize(value, ids)
        return out
    if isinstance(doc, list):
        return [_normalize(v, ids) for v in doc]
    return doc


def _run(scenario, **config) -> dict:  # type: ignore[no-untyped-def]
    results = {}
    for sdk in SDKS:
        recorder = _recorder(sdk, **config)
        scenario(recorder)
        ids: dict = {}
        results[sdk] = [_normalize(d, ids) for d in recorder.emitter.documents]
    return results


def nested(recorder) -> None:  # type: ignore[no-untyped-def]
    with recorder.in_segment("seg") as seg:
        seg.put_annotation("str", "v")
        seg.put_annotation("int", 3)
        seg.put_annotation("float", 1.5)
        seg.put_annotation("bool", False)
        seg.put_annotation("bad key", 1)
        seg.put_annotation("obj", object())
        seg.put_metadata("k", {"a": [1, 2, (3, 4)], "n": None}, "ns")
        seg.put_metadata("r", 1, "AWS.reserved")
        seg.set_user("alice")
        seg.put_http_meta("url", "http://example.com/p")
        seg.put_http_meta("method", "POST")
        seg.put_http_meta("user_agent", "ua")
        seg.put_http_meta("client_ip", "10.0.0.1")
        seg.put_http_meta("x_forwarded_for", True)
        seg.put_http_meta("status", 200)
        seg.put_http_meta("content_length", 10)
        with recorder.in_subsegment("a") as a:
            a.put_annotation("sub", "yes")
            with recorder.in_subsegment("b", namespace="remote") as b:
                b.set_sql({"url": "db", "sanitized_query": "select 1"})
                b.set_aws({"operation": "Query"})


def status_codes(recorder) -> None:  # type: ignore[no-untyped-def]
    with recorder.in_segment("seg"):
        for code in (404, 429, 500):
            with recorder.in_subsegment("s%d" % code) as sub:
                sub.put_http_meta("status", code)


def exceptions(recorder) -> None:  # type: ignore[no-untyped-def]
    @recorder.capture("captured")
    def fails() -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError):
        with recorder.in_segment("seg"):
            try:
                fails()
            except ValueError:
                pass
            with recorder.in_subsegment("cm"):
                raise ValueError("again")


def streaming(recorder) -> None:  # type: ignore[no-untyped-def]
    recorder.begin_segment("seg")
    for i in range(4):
        recorder.begin_subsegment("c%d" % i)
        time.sleep(0.001)
        recorder.end_subsegment()
    recorder.end_segment()


def unsampled(recorder) -> None:  # type: ignore[no-untyped-def]
    recorder.begin_segment("seg", sampling=0)
    recorder.begin_subsegment("x")
    recorder.put_annotation("k", "v")
    recorder.end_subsegment()
    recorder.end_segment()


def rule_name(recorder) -> None:  # type: ignore[no-untyped-def]
    recorder.begin_segment("seg", sampling="my-rule")
    recorder.end_segment()


@pytest.mark.parametrize("scenario", [nested, status_codes, unsampled, rule_name], ids=lambda f: f.__name__)
def test_same_documents(scenario) -> None:  # type: ignore[no-untyped-def]
    results = _run(scenario)
    assert results["fluoro"] == results["upstream"]


def test_same_documents_when_streaming() -> None:
    results = _run(streaming, streaming_threshold=2)
    assert [d["name"] for d in results["fluoro"]] == ["c0", "c1", "c2", "seg"]
    assert results["fluoro"] == results["upstream"]


def test_exceptions_match_except_stack_frames() -> None:
    results = _run(exceptions)

    def strip_stacks(doc: object) -> object:
        if isinstance(doc, dict):
            return {k: strip_stacks(v) for k, v in doc.items() if k != "stack"}
        if isinstance(doc, list):
            return [strip_stacks(v) for v in doc]
        return doc

    assert strip_stacks(results["fluoro"]) == strip_stacks(results["upstream"])
    fluoro_exc = results["fluoro"][0]["subsegments"][0]["cause"]["exceptions"][0]
    assert fluoro_exc["type"] == "ValueError" and fluoro_exc["message"] == "boom"
    # Both name the raising function's frame; fluoro also drops its own frames from stacks.
    assert any(frame["label"] == "fails" for frame in fluoro_exc["stack"])
    assert not any("recorder" in frame["path"] for frame in fluoro_exc["stack"])


def test_lambda_mode_matches(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(tmp_path))
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")

    def handler(recorder) -> None:  # type: ignore[no-untyped-def]
        recorder.begin_subsegment("outer")
        with recorder.in_subsegment("inner") as sub:
            sub.put_annotation("k", "v")
        recorder.end_subsegment()

    results = {}
    for sdk, (recorder_cls, _, _) in SDKS.items():
        recorder = recorder_cls()
        recorder.configure(emitter=InMemoryEmitter())
        handler(recorder)
        ids: dict = {}
        results[sdk] = [_normalize(d, ids) for d in recorder.emitter.documents]
    assert [d["name"] for d in results["fluoro"]] == ["inner", "outer"]
    assert results["fluoro"] == results["upstream"]


def test_deliberate_difference_unsampled_children_of_sampled_segments(caplog) -> None:  # type: ignore[no-untyped-def]
    # begin_subsegment_without_sampling exists to keep a subsegment out of the trace;
    # upstream still embeds it (namespace "dummy") in its sampled parent. fluoro does not.
    def scenario(recorder) -> None:  # type: ignore[no-untyped-def]
        recorder.begin_segment("seg")
        recorder.begin_subsegment_without_sampling("quiet")
        recorder.end_subsegment()
        recorder.end_segment()

    with caplog.at_level(logging.ERROR):
        results = _run(scenario)
    assert "subsegments" not in results["fluoro"][0]
    assert [s["namespace"] for s in results["upstream"][0]["subsegments"]] == ["dummy"]
    del results["upstream"][0]["subsegments"]
    for docs in results.values():
        docs[0].pop("trace_id")  # numbered differently once upstream's extra child is gone
    assert results["fluoro"] == results["upstream"]


def test_environment_is_not_leaking() -> None:
    assert "LAMBDA_TASK_ROOT" not in os.environ

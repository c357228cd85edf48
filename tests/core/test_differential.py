"""The same scenarios through aws-xray-sdk 2.15 and fluoro: the documents must match.

Both SDKs' global ``xray_recorder`` are configured alike (``sampling=False``, a fresh
``Context``, a capturing emitter, ``service='test'``) and restored afterwards. Documents
are compared after normalizing what is random or environmental: ids, times, trace ids,
``working_directory``, the ``aws.xray`` SDK name/version and stack line numbers.
Where fluoro deliberately differs, the difference itself is asserted, with the reason.
"""

from __future__ import annotations

import datetime
import decimal
import json
import logging
import uuid

import aws_xray_sdk.core as upstream_core
import pytest
from aws_xray_sdk.core.async_recorder import AsyncAWSXRayRecorder as UpstreamRecorder
from aws_xray_sdk.core.context import Context as UpstreamContext

import fluoro.core as fluoro_core
from fluoro.core.async_recorder import AsyncAWSXRayRecorder as FluoroRecorder
from fluoro.core.context import Context as FluoroContext

TRACE_ENV = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


class CapturingEmitter:
    """Keeps every emitted document as the daemon would decode it."""

    def __init__(self) -> None:
        self.documents: list = []
        self.addresses: list = []

    def send_entity(self, entity) -> None:  # type: ignore[no-untyped-def]
        self.documents.append(json.loads(entity.serialize()))

    def set_daemon_address(self, address) -> None:  # type: ignore[no-untyped-def]
        self.addresses.append(address)


def _snapshot(recorder):  # type: ignore[no-untyped-def]
    return dict(vars(recorder)), recorder.streaming_threshold


def _restore(recorder, snapshot) -> None:  # type: ignore[no-untyped-def]
    state, threshold = snapshot
    recorder.__dict__.clear()
    recorder.__dict__.update(state)
    recorder.streaming_threshold = threshold


@pytest.fixture
def recorders():  # type: ignore[no-untyped-def]
    """Both global recorders, freshly configured; restored after the test."""
    pairs = {"upstream": (upstream_core.xray_recorder, UpstreamContext),
             "fluoro": (fluoro_core.xray_recorder, FluoroContext)}
    saved = {sdk: _snapshot(rec) for sdk, (rec, _) in pairs.items()}
    out = {}
    for sdk, (rec, context_cls) in pairs.items():
        rec.configure(sampling=False, context=context_cls(), emitter=CapturingEmitter(), service="test")
        out[sdk] = rec
    yield out
    for sdk, (rec, _) in pairs.items():
        rec.clear_trace_entities()
        _restore(rec, saved[sdk])


def _normalize(doc: object, ids: dict) -> object:
    """Replace random and environmental values by stable placeholders."""
    if isinstance(doc, dict):
        out = {}
        # Sorted keys: placeholders get the same numbers whatever each SDK's field order.
        for key in sorted(doc):
            value = doc[key]
            if key in ("id", "parent_id", "trace_id") and isinstance(value, str):
                out[key] = ids.setdefault(value, "id#%d" % len(ids))
            elif key in ("start_time", "end_time"):
                assert isinstance(value, float)
                out[key] = "<time>"
            elif key == "working_directory":
                out[key] = "<cwd>"
            elif key == "line":
                assert isinstance(value, int)
                out[key] = "<line>"
            elif key == "xray" and isinstance(value, dict):
                assert value["sdk"] == "X-Ray for Python" and value["sdk_version"]
                out[key] = {k: v for k, v in value.items() if k not in ("sdk", "sdk_version")}
            elif key == "cause" and isinstance(value, str):
                # A reference to the throwable recorded on a child: same placeholder as that id.
                out[key] = ids.setdefault(value, "id#%d" % len(ids))
            else:
                out[key] = _normalize(value, ids)
        return out
    if isinstance(doc, list):
        return [_normalize(v, ids) for v in doc]
    return doc


def _run(recorders, scenario, **config) -> dict:  # type: ignore[no-untyped-def]
    results = {}
    for sdk, rec in recorders.items():
        if config:
            rec.configure(**config)
        scenario(rec)
        ids: dict = {}
        results[sdk] = [_normalize(d, ids) for d in rec.emitter.documents]
    return results


# -- scenarios -------------------------------------------------------------------------

def nested(rec) -> None:  # type: ignore[no-untyped-def]
    with rec.in_segment("seg"):
        with rec.in_subsegment("a") as a:
            a.put_annotation("depth", 1)
            with rec.in_subsegment("b", namespace="remote") as b:
                b.set_sql({"url": "db", "sanitized_query": "select 1"})
                b.set_aws({"operation": "Query"})
                rec.begin_subsegment("c")
                rec.end_subsegment()
        rec.begin_subsegment("d", namespace="aws")
        rec.end_subsegment()


def annotations(rec) -> None:  # type: ignore[no-untyped-def]
    with rec.in_segment("seg"):
        for key, value in [("s", "v"), ("unicode", "h\u00e9llo \u2603"), ("empty", ""), ("i", 3),
                           ("neg", -7), ("zero", 0), ("big", 2 ** 62), ("f", 1.5), ("t", True),
                           ("fa", False), ("Mixed_Case_9", "ok")]:
            rec.put_annotation(key, value)
        # Invalid keys and values are dropped.
        for key, value in [("bad key", 1), ("bad-key", 1), ("dot.key", 1), (None, 1), (7, 1),
                           ("none", None), ("list", [1]), ("dict", {"a": 1}), ("tuple", (1,)),
                           ("obj", object()), ("bytes", b"x")]:
            rec.put_annotation(key, value)
        with rec.in_subsegment("sub") as sub:
            sub.put_annotation("on_sub", 2.25)
            sub.put_annotation("on sub", 1)


class _Plain:
    def __init__(self) -> None:
        self.a = 1
        self._private = 2
        self.fn = len


def metadata(rec) -> None:  # type: ignore[no-untyped-def]
    with rec.in_segment("seg") as seg:
        values = {"set": {1}, "tuple": (1, 2), "frozenset": frozenset([3]), "obj": _Plain(), "type": int,
                  "decimal": decimal.Decimal("1.5"), "uuid": uuid.UUID(int=5), "none": None,
                  "nested": {"a": {"b": [_Plain(), (4, 5)]}}, "gen": (i for i in range(2)),
                  "range": range(3), "complex": 1j, "str": "s", "int": 1, "bool": False}
        for key, value in values.items():
            seg.put_metadata(key, value, "ns")
        rec.put_metadata("via_recorder", {"k": "v"})
        seg.put_metadata("k", 1, 42)  # non-str namespace: dropped
        seg.put_metadata("k", 1, "AWS.reserved")  # reserved prefix: dropped
        with rec.in_subsegment("sub") as sub:
            sub.put_metadata("list", [1, [2, {"x": (3,)}]])


def http(rec) -> None:  # type: ignore[no-untyped-def]
    with rec.in_segment("seg") as seg:
        seg.put_http_meta("url", "http://example.com/p")
        seg.put_http_meta("method", "POST")
        seg.put_http_meta("user_agent", "ua")
        seg.put_http_meta("client_ip", "10.0.0.1")
        seg.put_http_meta("x_forwarded_for", True)
        seg.put_http_meta("status", 200)
        seg.put_http_meta("content_length", 10)
        seg.put_http_meta("unsupported", "x")
        seg.put_http_meta("method", None)  # None is ignored, POST stays
        for code in (404, 429, 500, "503"):
            with rec.in_subsegment("s%s" % code, namespace="remote") as sub:
                sub.put_http_meta("url", "http://backend/%s" % code)
                sub.put_http_meta("status", code)


def exceptions(rec) -> None:  # type: ignore[no-untyped-def]
    @rec.capture("captured")
    def fails() -> None:
        raise ValueError("boom")

    with rec.in_segment("seg"):
        try:
            fails()
        except ValueError:
            pass
        try:
            with rec.in_subsegment("cm"):
                raise KeyError("k")
        except KeyError:
            pass
        with rec.in_subsegment("remote_call", namespace="remote") as sub:
            try:
                raise ConnectionError()
            except ConnectionError as exc:
                sub.add_exception(exc, [], remote=True)


def exception_reaches_segment(rec) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RuntimeError):
        with rec.in_segment("seg"):
            with rec.in_subsegment("inner"):
                raise RuntimeError("bubbles")


def streaming(rec) -> None:  # type: ignore[no-untyped-def]
    rec.begin_segment("seg")
    for i in range(4):
        rec.begin_subsegment("c%d" % i)
        rec.put_annotation("i", i)
        rec.end_subsegment()
    rec.end_segment()


def user(rec) -> None:  # type: ignore[no-untyped-def]
    seg = rec.begin_segment("seg")
    seg.set_user("alice")
    rec.end_segment()


def unsampled(rec) -> None:  # type: ignore[no-untyped-def]
    rec.begin_segment("seg", sampling=0)
    rec.begin_subsegment("x")
    rec.put_annotation("k", "v")
    rec.end_subsegment()
    rec.end_segment()


def rule_name(rec) -> None:  # type: ignore[no-untyped-def]
    rec.begin_segment("seg", sampling="my-rule")
    rec.end_segment()


def incoming_ids(rec) -> None:  # type: ignore[no-untyped-def]
    rec.begin_segment("seg", traceid="1-5759e988-bd862e3fe1be46a994272793", parent_id="53995c3f42cd8ad8")
    rec.end_segment()


def _pop_stacks(doc: object, out: list) -> list:
    """Remove every throwable's ``stack`` (in document order) into ``out``."""
    if isinstance(doc, dict):
        if "stack" in doc:
            out.append(doc.pop("stack"))
        for value in doc.values():
            _pop_stacks(value, out)
    elif isinstance(doc, list):
        for value in doc:
            _pop_stacks(value, out)
    return out


@pytest.mark.parametrize("scenario", [nested, annotations, metadata, http, exceptions, exception_reaches_segment,
                                      user, unsampled, rule_name, incoming_ids], ids=lambda f: f.__name__)
def test_same_documents(recorders, scenario) -> None:  # type: ignore[no-untyped-def]
    results = _run(recorders, scenario)
    fluoro_stacks = _pop_stacks(results["fluoro"], [])
    upstream_stacks = _pop_stacks(results["upstream"], [])
    assert results["fluoro"] == results["upstream"]
    assert len(fluoro_stacks) == len(upstream_stacks)
    for fl, up in zip(fluoro_stacks, upstream_stacks):
        # Deliberate: for ``capture`` (get_stacktrace) upstream counts the frame that
        # caught the exception twice (current stack and traceback) before dropping SDK
        # frames; fluoro de-duplicates it, so its max_trace_back window can hold one more
        # user frame. The frames both report are the same, innermost last.
        assert up and fl[-len(up):] == up
        assert len(up) <= len(fl) <= len(up) + 1


def test_nested_tree_shape(recorders) -> None:  # type: ignore[no-untyped-def]
    (doc,) = _run(recorders, nested)["fluoro"]

    def tree(d: dict) -> dict:
        return {s["name"]: tree(s) for s in d.get("subsegments", [])}

    assert tree(doc) == {"a": {"b": {"c": {}}}, "d": {}}
    b = doc["subsegments"][0]["subsegments"][0]
    assert b["namespace"] == "remote" and b["sql"] == {"url": "db", "sanitized_query": "select 1"}
    assert b["parent_id"] == doc["subsegments"][0]["id"]
    assert b["aws"] == {"operation": "Query"}


def test_annotation_values(recorders) -> None:  # type: ignore[no-untyped-def]
    (doc,) = _run(recorders, annotations)["fluoro"]
    assert doc["annotations"] == {"s": "v", "unicode": "h\u00e9llo \u2603", "empty": "", "i": 3, "neg": -7,
                                  "zero": 0, "big": 2 ** 62, "f": 1.5, "t": True, "fa": False,
                                  "Mixed_Case_9": "ok"}
    assert doc["subsegments"][0]["annotations"] == {"on_sub": 2.25}


def test_metadata_values(recorders) -> None:  # type: ignore[no-untyped-def]
    (doc,) = _run(recorders, metadata)["fluoro"]
    ns = doc["metadata"]["ns"]
    assert ns["set"] == [1] and ns["tuple"] == [1, 2] and ns["frozenset"] == [3]
    assert ns["obj"] == {"a": 1}  # public, non-callable attributes only
    assert ns["type"] == "<class 'int'>" and ns["decimal"] == "1.5"
    assert ns["uuid"] == "00000000-0000-0000-0000-000000000005"
    assert ns["nested"] == {"a": {"b": [{"a": 1}, [4, 5]]}}
    assert ns["gen"] == [0, 1] and ns["range"] == [0, 1, 2] and ns["complex"] == "1j"
    assert ns["none"] is None and ns["bool"] is False
    assert doc["metadata"]["default"] == {"via_recorder": {"k": "v"}}
    assert set(doc["metadata"]) == {"ns", "default"}
    assert doc["subsegments"][0]["metadata"] == {"default": {"list": [1, [2, {"x": [3]}]]}}


def test_http_flags(recorders) -> None:  # type: ignore[no-untyped-def]
    (doc,) = _run(recorders, http)["fluoro"]
    assert doc["http"] == {"request": {"url": "http://example.com/p", "method": "POST", "user_agent": "ua",
                                       "client_ip": "10.0.0.1", "x_forwarded_for": True},
                           "response": {"status": 200, "content_length": 10}}
    assert not {"error", "fault", "throttle"} & set(doc)
    flags = {s["name"]: {k: s[k] for k in ("error", "fault", "throttle") if k in s} for s in doc["subsegments"]}
    assert flags == {"s404": {"error": True}, "s429": {"error": True, "throttle": True},
                     "s500": {"fault": True}, "s503": {"fault": True}}
    assert doc["subsegments"][3]["http"]["response"] == {"status": 503}  # str status becomes int


def test_exception_causes(recorders) -> None:  # type: ignore[no-untyped-def]
    (doc,) = _run(recorders, exceptions)["fluoro"]
    captured, cm, remote = doc["subsegments"]
    (exc,) = captured["cause"]["exceptions"]
    assert captured["fault"] is True and "error" not in captured
    assert (exc["type"], exc["message"], exc["remote"]) == ("ValueError", "boom", False)
    assert exc["stack"][-1]["label"] == "fails" and exc["stack"][-1]["path"] == "test_differential.py"
    assert not any("recorder" in frame["path"] for frame in exc["stack"])
    (exc,) = cm["cause"]["exceptions"]
    assert (exc["type"], exc["message"], exc["remote"]) == ("KeyError", "'k'", False)
    assert [f["label"] for f in exc["stack"]] == ["exceptions"]
    (exc,) = remote["cause"]["exceptions"]
    assert (exc["type"], exc["remote"]) == ("ConnectionError", True)
    assert "message" not in exc  # empty str(exc) is omitted
    assert "cause" not in doc and "fault" not in doc


def test_exception_reaching_the_segment_references_the_child(recorders) -> None:  # type: ignore[no-untyped-def]
    _run(recorders, exception_reaches_segment)
    (raw,) = recorders["fluoro"].emitter.documents
    (inner_exc,) = raw["subsegments"][0]["cause"]["exceptions"]
    assert (inner_exc["type"], inner_exc["message"]) == ("RuntimeError", "bubbles")
    # The segment's cause is the id of the throwable already recorded on the child.
    assert raw["cause"] == inner_exc["id"] and raw["fault"] is True


def test_streaming_threshold_two(recorders) -> None:  # type: ignore[no-untyped-def]
    results = _run(recorders, streaming, streaming_threshold=2)
    # Same set of documents, in the same order: c0..c2 streamed standalone, c3 in the segment.
    assert results["fluoro"] == results["upstream"]
    docs = recorders["fluoro"].emitter.documents
    assert [d["name"] for d in docs] == ["c0", "c1", "c2", "seg"]
    segment = docs[-1]
    for i, standalone in enumerate(docs[:3]):
        assert standalone["type"] == "subsegment"
        assert standalone["parent_id"] == segment["id"] and standalone["trace_id"] == segment["trace_id"]
        assert standalone["annotations"] == {"i": i}
    assert [s["name"] for s in segment["subsegments"]] == ["c3"]


def test_set_user(recorders) -> None:  # type: ignore[no-untyped-def]
    (doc,) = _run(recorders, user)["fluoro"]
    assert doc["user"] == "alice"


def test_unsampled_sends_nothing_and_rule_name_is_recorded(recorders) -> None:  # type: ignore[no-untyped-def]
    assert _run(recorders, unsampled)["fluoro"] == []
    (doc,) = _run(recorders, rule_name)["fluoro"]
    assert doc["aws"]["xray"]["sampling_rule_name"] == "my-rule"


def test_deliberate_difference_empty_annotation_key(recorders, caplog) -> None:  # type: ignore[no-untyped-def]
    # Upstream's per-character check accepts "" (no bad character); X-Ray rejects an empty
    # annotation key server-side, so fluoro drops it with the usual warning.
    def scenario(rec) -> None:  # type: ignore[no-untyped-def]
        with rec.in_segment("seg"):
            rec.put_annotation("", 1)
            rec.put_annotation("ok", 2)

    with caplog.at_level(logging.WARNING):
        results = _run(recorders, scenario)
    assert results["upstream"][0]["annotations"] == {"": 1, "ok": 2}
    assert results["fluoro"][0]["annotations"] == {"ok": 2}
    assert "ignoring annnotation with unsupported characters in key: ''." in caplog.text


def test_deliberate_difference_metadata_encoding(recorders) -> None:  # type: ignore[no-untyped-def]
    # fluoro encodes documents itself (msgspec when installed): bytes become text instead
    # of a list of ints, NaN/inf become null (upstream emits invalid JSON `NaN`), and
    # datetimes are ISO 8601 under msgspec (str() with the stdlib fallback, as upstream).
    def scenario(rec) -> None:  # type: ignore[no-untyped-def]
        with rec.in_segment("seg") as seg:
            seg.put_metadata("bytes", b"xy")
            seg.put_metadata("nan", float("nan"))
            seg.put_metadata("dt", datetime.datetime(2020, 1, 2, 3, 4, 5))

    results = _run(recorders, scenario)
    up = results["upstream"][0]["metadata"]["default"]
    fl = results["fluoro"][0]["metadata"]["default"]
    assert up["bytes"] == [120, 121] and fl["bytes"] == "xy"
    assert up["nan"] != up["nan"] and fl["nan"] is None
    assert up["dt"] == "2020-01-02 03:04:05"
    try:
        import msgspec  # noqa: F401
        assert fl["dt"] == "2020-01-02T03:04:05"
    except ImportError:
        assert fl["dt"] == "2020-01-02 03:04:05"


def test_deliberate_difference_unsampled_children_of_sampled_segments(recorders, caplog) -> None:  # type: ignore[no-untyped-def]
    # begin_subsegment_without_sampling exists to keep a subsegment out of the trace;
    # upstream still embeds it (namespace "dummy") in its sampled parent. fluoro does not.
    def scenario(rec) -> None:  # type: ignore[no-untyped-def]
        rec.begin_segment("seg")
        quiet = rec.begin_subsegment_without_sampling("quiet")
        assert quiet.sampled is False
        child = rec.begin_subsegment("child_of_quiet")
        assert child.sampled is False
        rec.put_annotation("dropped", 1)
        rec.end_subsegment()
        rec.end_subsegment()
        rec.begin_subsegment("sampled_sibling")
        rec.end_subsegment()
        rec.end_segment()

    with caplog.at_level(logging.ERROR):
        results = _run(recorders, scenario)
    assert [s["name"] for s in results["fluoro"][0]["subsegments"]] == ["sampled_sibling"]
    assert [s["namespace"] for s in results["upstream"][0]["subsegments"]] == ["dummy", "local"]
    # Without upstream's dummy child, the documents are the same.
    normalized = {}
    for sdk, rec in recorders.items():
        (raw,) = rec.emitter.documents
        raw["subsegments"] = [s for s in raw["subsegments"] if s["namespace"] != "dummy"]
        normalized[sdk] = _normalize(raw, {})
    assert normalized["fluoro"] == normalized["upstream"]


def test_lambda_mode_matches(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("LAMBDA_TASK_ROOT", str(tmp_path))
    monkeypatch.setenv("_X_AMZN_TRACE_ID", TRACE_ENV)

    def handler(rec) -> None:  # type: ignore[no-untyped-def]
        rec.begin_subsegment("outer")
        with rec.in_subsegment("inner") as sub:
            sub.put_annotation("k", "v")
        rec.end_subsegment()

    results = {}
    for sdk, recorder_cls in (("upstream", UpstreamRecorder), ("fluoro", FluoroRecorder)):
        rec = recorder_cls()
        rec.configure(emitter=CapturingEmitter())
        handler(rec)
        ids: dict = {}
        results[sdk] = [_normalize(d, ids) for d in rec.emitter.documents]
    assert [d["name"] for d in results["fluoro"]] == ["inner", "outer"]
    assert results["fluoro"] == results["upstream"]

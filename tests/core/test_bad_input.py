"""Bad input to the SDK is logged and dropped; it never raises into the application."""

from __future__ import annotations

import logging

import pytest

from fluoro.core.models.trace_header import TraceHeader


@pytest.fixture
def recorder(global_recorder):  # type: ignore[no-untyped-def]
    return global_recorder

def _warnings(caplog) -> list:  # type: ignore[no-untyped-def]
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


@pytest.mark.parametrize("key,value,message", [
    ("with space", 1, "ignoring annnotation with unsupported characters in key: 'with space'."),
    ("dash-key", 1, "ignoring annnotation with unsupported characters in key: 'dash-key'."),
    ("", 1, "ignoring annnotation with unsupported characters in key: ''."),
    (None, 1, "ignoring non string type annotation key with type <class 'NoneType'>."),
    (b"bytes", 1, "ignoring non string type annotation key with type <class 'bytes'>."),
    ("list", [1], "ignoring unsupported annotation value type <class 'list'>."),
    ("none", None, "ignoring unsupported annotation value type <class 'NoneType'>."),
    ("dict", {"a": 1}, "ignoring unsupported annotation value type <class 'dict'>."),
])
def test_invalid_annotations_are_dropped_with_a_warning(recorder, caplog, key, value, message) -> None:  # type: ignore[no-untyped-def]
    with caplog.at_level(logging.WARNING):
        with recorder.in_segment("seg") as seg:
            recorder.put_annotation(key, value)  # via the recorder
            seg.put_annotation(key, value)  # and on the entity
            with recorder.in_subsegment("sub") as sub:
                sub.put_annotation(key, value)
            recorder.put_annotation("good", 1)
    (doc,) = recorder.emitter.documents
    assert doc["annotations"] == {"good": 1}
    assert "annotations" not in doc["subsegments"][0]
    assert _warnings(caplog).count(message) == 3


def test_invalid_metadata_namespaces_are_dropped(recorder, caplog) -> None:  # type: ignore[no-untyped-def]
    with caplog.at_level(logging.WARNING):
        with recorder.in_segment("seg") as seg:
            seg.put_metadata("k", 1, namespace=7)
            seg.put_metadata("k", 1, namespace=None)
            recorder.put_metadata("k", 1, namespace="AWS.internal")
            seg.put_metadata("k", 1, namespace="AWS.")
            seg.put_metadata("k", 2, namespace="aws.lower_is_fine")
            seg.put_metadata("k", 3)
    (doc,) = recorder.emitter.documents
    assert doc["metadata"] == {"aws.lower_is_fine": {"k": 2}, "default": {"k": 3}}
    warnings = _warnings(caplog)
    assert warnings.count("ignoring non string type metadata namespace") == 2
    assert "Prefix 'AWS.' is reserved, drop metadata with namespace AWS.internal" in warnings
    assert "Prefix 'AWS.' is reserved, drop metadata with namespace AWS." in warnings


def test_unserializable_metadata_does_not_lose_the_segment(recorder, caplog) -> None:  # type: ignore[no-untyped-def]
    cyclic: dict = {}
    cyclic["self"] = cyclic

    class Exploding:
        @property
        def boom(self) -> int:
            raise RuntimeError("property failed")

    with caplog.at_level(logging.WARNING):
        with recorder.in_segment("seg") as seg:
            seg.put_metadata("cyclic", cyclic)
            seg.put_metadata("exploding", Exploding())
            seg.put_metadata("fine", "ok")
    (doc,) = recorder.emitter.documents
    assert doc["name"] == "seg"
    assert doc["metadata"]["default"]["fine"] == "ok"
    assert doc["metadata"]["default"]["cyclic"] == {}


def test_bad_http_meta_is_ignored(recorder, caplog) -> None:  # type: ignore[no-untyped-def]
    with caplog.at_level(logging.WARNING):
        with recorder.in_segment("seg") as seg:
            seg.put_http_meta("colour", "blue")
            seg.put_http_meta("url", None)
            # Upstream raises ValueError from int("abc"); fluoro logs and drops it.
            seg.put_http_meta("status", "abc")
            seg.put_http_meta("method", "GET")
    (doc,) = recorder.emitter.documents
    assert doc["http"] == {"request": {"method": "GET"}}
    assert not {"error", "fault", "throttle"} & set(doc)
    assert "ignoring unsupported key colour in http meta." in _warnings(caplog)
    assert any("abc" in w for w in _warnings(caplog))


def test_failing_meta_processor_does_not_break_the_call(recorder, caplog) -> None:  # type: ignore[no-untyped-def]
    seen: list = []

    def processor(**kwargs) -> None:  # type: ignore[no-untyped-def]
        seen.append(sorted(kwargs))
        raise KeyError("bad processor")

    recorder.begin_segment("seg")
    with caplog.at_level(logging.WARNING):
        result = recorder.record_subsegment(lambda x: x * 2, None, (21,), {}, "call", "remote", processor)
    assert result == 42
    assert seen == [["args", "exception", "instance", "kwargs", "return_value", "stack", "subsegment", "wrapped"]]
    assert recorder.get_trace_entity().name == "seg"  # the subsegment was closed and popped
    recorder.end_segment()
    (doc,) = recorder.emitter.documents
    (sub,) = doc["subsegments"]
    assert (sub["name"], sub["namespace"], sub["in_progress"]) == ("call", "remote", False)
    assert "Failed to record metadata for subsegment call." in _warnings(caplog)


def test_failing_meta_processor_keeps_the_original_exception(recorder, caplog) -> None:  # type: ignore[no-untyped-def]
    def processor(**kwargs) -> None:  # type: ignore[no-untyped-def]
        assert isinstance(kwargs["exception"], ZeroDivisionError)
        assert kwargs["return_value"] is None and kwargs["stack"]
        raise TypeError("processor bug")

    recorder.begin_segment("seg")
    with caplog.at_level(logging.WARNING):
        with pytest.raises(ZeroDivisionError):
            recorder.record_subsegment(lambda: 1 / 0, None, (), {}, "div", "local", processor)
    recorder.end_segment()
    (doc,) = recorder.emitter.documents
    assert doc["subsegments"][0]["name"] == "div"
    assert "Failed to record metadata for subsegment div." in _warnings(caplog)


def test_failing_sampler_records_the_segment(recorder, caplog) -> None:  # type: ignore[no-untyped-def]
    class BrokenSampler:
        calls = 0

        def should_trace(self, sampling_req=None) -> bool:  # type: ignore[no-untyped-def]
            BrokenSampler.calls += 1
            raise ValueError("sampler bug")

    recorder.configure(sampler=BrokenSampler(), sampling=True)
    with caplog.at_level(logging.WARNING):
        with recorder.in_segment("seg") as seg:
            assert seg.sampled is True
            with recorder.in_subsegment("sub"):
                pass
    assert BrokenSampler.calls == 1
    (doc,) = recorder.emitter.documents
    assert doc["name"] == "seg" and doc["subsegments"][0]["name"] == "sub"
    assert "Sampler failed; recording this segment." in _warnings(caplog)


def test_failing_emitter_is_logged(recorder, caplog) -> None:  # type: ignore[no-untyped-def]
    class Broken:
        def send_entity(self, entity) -> None:  # type: ignore[no-untyped-def]
            raise RuntimeError("down")

        def set_daemon_address(self, address) -> None:  # type: ignore[no-untyped-def]
            pass

    recorder.configure(emitter=Broken(), context_missing="IGNORE_ERROR")
    with caplog.at_level(logging.WARNING):
        with recorder.in_segment("seg"):
            pass
    assert "Emitter 'Broken' failed to send seg." in _warnings(caplog)
    assert recorder.get_trace_entity() is None  # context cleared all the same


def test_invalid_segment_names_are_sanitized(recorder, caplog) -> None:  # type: ignore[no-untyped-def]
    with caplog.at_level(logging.WARNING):
        with recorder.in_segment("se<g>?!"):
            with recorder.in_subsegment("su(b);*"):
                pass
    (doc,) = recorder.emitter.documents
    assert (doc["name"], doc["subsegments"][0]["name"]) == ("seg", "sub")
    assert "Removing Segment/Subsugment Name invalid characters from se<g>?!." in _warnings(caplog)


@pytest.mark.parametrize("raw", ["Root", "=;=;", "\x00\xff", b"Root=\xff;Parent", 12345])
def test_malformed_headers_give_an_empty_header(raw) -> None:  # type: ignore[no-untyped-def]
    header = TraceHeader.from_header_str(raw)  # type: ignore[arg-type]
    assert (header.root, header.parent, header.sampled) == (None, None, None)

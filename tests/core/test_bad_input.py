"""Bad input to the SDK is logged and dropped; it never raises into the application."""

from __future__ import annotations

import logging

from fluoro.core.async_recorder import AsyncAWSXRayRecorder
from fluoro.core.context import Context
from fluoro.core.emitters.memory import InMemoryEmitter
from fluoro.core.models.trace_header import TraceHeader
from fluoro.core.sampling.local.sampler import LocalSampler


def _recorder(**config) -> AsyncAWSXRayRecorder:  # type: ignore[no-untyped-def]
    rec = AsyncAWSXRayRecorder()
    settings = dict(emitter=InMemoryEmitter(), context=Context(), sampler=LocalSampler(), sampling=False, service="svc")
    settings.update(config)
    rec.configure(**settings)
    return rec


def test_invalid_annotations_and_metadata_are_dropped(caplog) -> None:  # type: ignore[no-untyped-def]
    rec = _recorder()
    with caplog.at_level(logging.WARNING):
        with rec.in_segment("seg"):
            rec.put_annotation("with space", 1)
            rec.put_annotation(None, 1)
            rec.put_annotation("list", [1])
            rec.put_metadata("k", 1, namespace=7)
            rec.put_metadata("k", 1, namespace="AWS.x")
            rec.put_metadata("cyclic", _cyclic())
            rec.put_annotation("good", 1)
    doc = rec.emitter.documents[0]
    assert doc["annotations"] == {"good": 1}
    assert doc["metadata"] == {"default": {"cyclic": {}}}
    assert caplog.text.count("ignoring") >= 4


def _cyclic() -> dict:
    d: dict = {}
    d["self"] = d
    return d


def test_malformed_headers_give_an_empty_header(caplog) -> None:  # type: ignore[no-untyped-def]
    for raw in ("Root", "=;=;", "\x00\xff", b"Root=\xff"):
        header = TraceHeader.from_header_str(raw)  # type: ignore[arg-type]
        assert header.parent is None


def test_failing_emitter_is_logged(caplog) -> None:  # type: ignore[no-untyped-def]
    class Broken:
        def send_entity(self, entity) -> None:  # type: ignore[no-untyped-def]
            raise RuntimeError("down")

        def set_daemon_address(self, address) -> None:  # type: ignore[no-untyped-def]
            pass

    rec = _recorder(emitter=Broken())
    with caplog.at_level(logging.WARNING):
        with rec.in_segment("seg"):
            pass
    assert "Emitter 'Broken' failed to send seg." in caplog.text
    assert rec.get_trace_entity() is None  # context cleared all the same


def test_failing_meta_processor_does_not_break_the_call(caplog) -> None:  # type: ignore[no-untyped-def]
    rec = _recorder()

    def processor(**kwargs) -> None:  # type: ignore[no-untyped-def]
        raise KeyError("bad processor")

    rec.begin_segment("seg")
    result = rec.record_subsegment(lambda: 42, None, (), {}, "call", "remote", processor)
    rec.end_segment()
    assert result == 42
    assert rec.emitter.documents[0]["subsegments"][0]["name"] == "call"
    assert "Failed to record metadata for subsegment call." in caplog.text


def test_failing_sampler_records_the_segment(caplog) -> None:  # type: ignore[no-untyped-def]
    class Broken:
        def should_trace(self, request=None) -> bool:  # type: ignore[no-untyped-def]
            raise ValueError("sampler bug")

    rec = _recorder(sampler=Broken(), sampling=True)
    with caplog.at_level(logging.WARNING):
        with rec.in_segment("seg"):
            pass
    assert rec.emitter.documents[0]["name"] == "seg"
    assert "Sampler failed" in caplog.text

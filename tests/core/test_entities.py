"""Entity fields and validation: what ends up in the segment document."""

from __future__ import annotations

import json
import logging

import pytest

from fluoro.core.models.facade_segment import FacadeSegment
from fluoro.core.models.segment import Segment
from fluoro.core.models.subsegment import Subsegment


def _doc(entity) -> dict:  # type: ignore[no-untyped-def]
    return json.loads(entity.serialize())


def test_annotations_validated_and_dropped_with_a_warning(caplog) -> None:  # type: ignore[no-untyped-def]
    seg = Segment("s")
    with caplog.at_level(logging.WARNING):
        seg.put_annotation("ok_1", 1)
        seg.put_annotation("f", 1.5)
        seg.put_annotation("b", True)
        seg.put_annotation("s", "x")
        seg.put_annotation("bad-key", 1)
        seg.put_annotation(5, 1)  # type: ignore[arg-type]
        seg.put_annotation("obj", {"a": 1})
    assert seg.annotations == {"ok_1": 1, "f": 1.5, "b": True, "s": "x"}
    assert "unsupported characters in key: 'bad-key'" in caplog.text
    assert "non string type annotation key" in caplog.text
    assert "unsupported annotation value type" in caplog.text


def test_metadata_namespaces_and_conversion() -> None:
    class Obj:
        def __init__(self) -> None:
            self.visible = 1
            self._hidden = 2

    seg = Segment("s")
    seg.put_metadata("k", {"nested": [1, (2, 3)], "obj": Obj(), "kind": int})
    seg.put_metadata("x", 1, "AWS.reserved")
    seg.close()
    doc = _doc(seg)
    assert doc["metadata"] == {"default": {"k": {"nested": [1, [2, 3]], "obj": {"visible": 1}, "kind": "<class 'int'>"}}}


def test_http_meta_and_status_flags() -> None:
    seg = Segment("s")
    seg.put_http_meta("url", "http://h/p")
    seg.put_http_meta("method", "GET")
    seg.put_http_meta("status", "429")
    seg.put_http_meta("content_length", 12)
    seg.put_http_meta("bogus", 1)
    seg.close()
    doc = _doc(seg)
    assert doc["http"] == {"request": {"url": "http://h/p", "method": "GET"},
                           "response": {"status": 429, "content_length": 12}}
    assert doc["throttle"] is True and doc["error"] is True and "fault" not in doc
    for status, flag in ((500, "fault"), (404, "error")):
        s = Segment("s")
        s.apply_status_code(status)
        assert getattr(s, flag) is True


def test_exception_recorded_once_up_the_tree() -> None:
    seg = Segment("s")
    sub = Subsegment("call", "remote", seg)
    seg.add_subsegment(sub)
    err = ValueError("boom")
    sub.add_exception(err, [("/x/app.py", 3, "f", "line")], remote=True)
    seg.add_exception(err, [])
    sub.close()
    seg.close()
    doc = _doc(seg)
    thrown = doc["subsegments"][0]["cause"]["exceptions"][0]
    assert thrown["message"] == "boom" and thrown["remote"] is True
    assert thrown["stack"] == [{"path": "app.py", "line": 3, "label": "f"}]
    assert doc["cause"] == thrown["id"]  # a reference, not a copy


def test_names_lose_invalid_characters() -> None:
    assert Segment("a?b*c(d)").name == "abcd"


def test_facade_segment_cannot_be_mutated() -> None:
    import pytest

    from fluoro.core.exceptions.exceptions import FacadeSegmentMutationException

    facade = FacadeSegment("facade", "53995c3f42cd8ad8", "1-5759e988-bd862e3fe1be46a994272793", True)
    assert not facade.initializing and not facade.ready_to_send()
    with pytest.raises(FacadeSegmentMutationException):
        facade.put_annotation("k", 1)
    with pytest.raises(FacadeSegmentMutationException):
        facade.close()


def test_subsegment_document_fields() -> None:
    seg = Segment("s")
    sub = Subsegment("q", "remote", seg)
    seg.add_subsegment(sub)
    sub.set_sql({"url": "postgresql://db", "sanitized_query": "select 1"})
    sub.close()
    doc = _doc(sub)
    assert doc["type"] == "subsegment" and doc["trace_id"] == seg.trace_id and doc["parent_id"] == seg.id
    assert doc["sql"] == {"url": "postgresql://db", "sanitized_query": "select 1"}


def test_noop_id_setting_is_read_per_segment(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """AWS_XRAY_NOOP_ID=false gives unsampled segments and their subsegments real ids."""
    from fluoro.core.models.dummy_entities import NOOP_ENTITY_ID, NOOP_TRACE_ID, DummySegment, DummySubsegment

    monkeypatch.setenv("AWS_XRAY_NOOP_ID", "FALSE")
    segment = DummySegment("unsampled")
    sub = DummySubsegment(segment, "child")
    assert segment.id != NOOP_ENTITY_ID and segment.trace_id != NOOP_TRACE_ID
    assert sub.id != NOOP_ENTITY_ID and sub.trace_id == segment.trace_id
    monkeypatch.setenv("AWS_XRAY_NOOP_ID", "true")
    segment = DummySegment("unsampled")
    assert (segment.id, DummySubsegment(segment, "child").id) == (NOOP_ENTITY_ID, NOOP_ENTITY_ID)


@pytest.mark.parametrize(("value", "noop"), [(None, True), ("", True), ("true", True), ("FaLsE", False), ("false", False),
                                             ("0", True)])
def test_noop_id_setting_matches_getenv(monkeypatch, value, noop) -> None:  # type: ignore[no-untyped-def]
    """The setting is read from os.environ's storage directly; the answer is getenv's, also
    when os.environ has been replaced by another mapping."""
    import os

    from fluoro.core.models.dummy_entities import NOOP_ENTITY_ID, DummySegment, _noop_ids_enabled

    if value is None:
        monkeypatch.delenv("AWS_XRAY_NOOP_ID", raising=False)
    else:
        monkeypatch.setenv("AWS_XRAY_NOOP_ID", value)
    assert _noop_ids_enabled() is noop
    assert (DummySegment("s").id == NOOP_ENTITY_ID) is noop
    replaced = {} if value is None else {"AWS_XRAY_NOOP_ID": "true" if value.lower() == "false" else "false"}
    monkeypatch.setattr(os, "environ", replaced)
    assert _noop_ids_enabled() is (not noop if value is not None else True)

"""Documents stored with markers for their row's ids and times come back byte for byte."""

from __future__ import annotations

import json

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from fluoro.store.doc_markers import (
    PARENT_ID,
    float_text,
    needs_parent,
    pack,
    pack_table,
    restore_parent,
    unpack,
)

hex16 = st.text("0123456789abcdef", min_size=16, max_size=16)
times = st.one_of(
    st.floats(min_value=1e-9, max_value=4e9, allow_nan=False, allow_infinity=False),
    st.integers(min_value=1, max_value=4_000_000_000).map(float),
)


@settings(max_examples=400, deadline=None)
@given(
    trace_hex=st.text("0123456789abcdef", min_size=24, max_size=24),
    seg_id=hex16,
    parent_id=st.one_of(st.none(), hex16),
    start=times,
    duration=st.one_of(st.none(), st.just(0.0), st.floats(min_value=0, max_value=1e4, allow_nan=False)),
    extra=st.dictionaries(
        st.text(max_size=8), st.one_of(st.text(max_size=40), st.floats(allow_nan=False), hex16)
    ),
    int_start=st.booleans(),
)
def test_round_trip_is_exact(trace_hex: str, seg_id: str, parent_id: str | None, start: float,
                             duration: float | None, extra: dict[str, object], int_start: bool) -> None:  # fmt: skip
    trace_id = f"1-5f84c7a1-{trace_hex}"
    end = None if duration is None else start + duration
    body: dict[str, object] = {"id": seg_id, "trace_id": trace_id, "name": "svc",
                               "start_time": int(start) if int_start else start}  # fmt: skip
    if end is None:
        body["in_progress"] = True
    else:
        body["end_time"] = end
    if parent_id:
        body["parent_id"] = parent_id
    # Values that repeat the row's ids and times elsewhere in the document.
    body["annotations"] = {**extra, "same_id": seg_id, "same_start": start, "tid_part": trace_hex[3:19]}
    body["subsegments"] = [{"id": parent_id or seg_id, "start_time": start, "end_time": end or start}]
    doc = json.dumps(body, ensure_ascii=False).encode()
    column_start = float(body["start_time"])  # type: ignore[arg-type]
    packed = pack(doc, trace_id, seg_id, column_start, end)
    assert not needs_parent(packed)
    assert unpack(packed, trace_id, seg_id, column_start, end) == doc
    if parent_id:  # what earlier versions stored: the parent id as a marker too
        older = packed.replace(parent_id.encode(), PARENT_ID)
        assert restore_parent(unpack(older, trace_id, seg_id, column_start, end), parent_id) == doc


def test_markers_shrink_what_they_replace() -> None:
    doc = json.dumps({"id": "a" * 16, "trace_id": "1-5f84c7a1-" + "b" * 24, "parent_id": "c" * 16,
                      "start_time": 1795918601.9447718, "end_time": 1795918602.1541667}).encode()  # fmt: skip
    packed = pack(doc, "1-5f84c7a1-" + "b" * 24, "a" * 16, 1795918601.9447718, 1795918602.1541667)
    assert (
        packed
        == b'{"id": "\x01", "trace_id": "\x00", "parent_id": "cccccccccccccccc", "start_time": \x03, "end_time": \x04}'
    )


def test_a_time_written_differently_is_left_alone() -> None:
    doc = b'{"id":"aaaaaaaaaaaaaaaa","start_time":1.7e9,"end_time":1700000001}'
    packed = pack(doc, "1-5f84c7a1-" + "b" * 24, "a" * 16, 1.7e9, 1700000001.0)
    assert b"1.7e9" in packed and b"1700000001" in packed
    assert unpack(packed, "1-5f84c7a1-" + "b" * 24, "a" * 16, 1.7e9, 1700000001.0) == doc


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(hex16, st.one_of(st.none(), hex16), times, st.one_of(st.none(), times)), min_size=1, max_size=20))
def test_the_batch_packer_packs_each_row_like_pack(rows: list[tuple[str, str | None, float, float | None]]) -> None:
    trace_id = "1-5f84c7a1-" + "b" * 24
    docs = [
        json.dumps({"id": seg_id, "trace_id": trace_id, "parent_id": parent_id, "start_time": start,
                    "end_time": end, "subsegments": [{"trace_id": trace_id, "start_time": start}]}).encode()
        for seg_id, parent_id, start, end in rows
    ]  # fmt: skip
    table = pa.table({
        "doc": pa.array(docs, pa.binary()), "trace_id": pa.array([trace_id] * len(rows), pa.string()),
        "id": pa.array([r[0] for r in rows], pa.string()), "parent_id": pa.array([r[1] for r in rows], pa.string()),
        "start_time": pa.array([r[2] for r in rows], pa.float64()), "end_time": pa.array([r[3] for r in rows], pa.float64()),
    })  # fmt: skip
    packed = pack_table(table)
    assert packed == [pack(doc, trace_id, seg_id, start, end) for doc, (seg_id, _, start, end) in zip(docs, rows)]
    for doc, (seg_id, parent_id, start, end), stored in zip(docs, rows, packed):
        assert trace_id.encode() not in stored and stored.count(seg_id.encode()) == doc.count(seg_id.encode()) - 1
        assert not needs_parent(stored) and (parent_id is None or parent_id.encode() in stored)
        assert unpack(stored, trace_id, seg_id, start, end) == doc


def _pack_by_replacing(doc: bytes, trace_id: str, seg_id: str, start: float, end: float | None) -> bytes:
    """The definition ``pack`` implements in one pass: each replace in turn, on the result of the last."""
    doc = doc.replace(trace_id.encode(), b"\x00").replace(seg_id.encode(), b"\x01", 1).replace(b"%r" % start, b"\x03", 1)
    return doc if end is None else doc.replace(b"%r" % end, b"\x04", 1)


@settings(max_examples=500, deadline=None)
@given(
    pieces=st.lists(st.sampled_from(["T", "I", "S", "E", "s", "e", "x"]), max_size=12),
    seg_id=st.text("0123456789ab", min_size=16, max_size=16),
    start=times,
    duration=st.one_of(st.none(), st.floats(min_value=0, max_value=10, allow_nan=False)),
)
def test_pack_cuts_what_replacing_in_turn_would(pieces: list[str], seg_id: str, start: float, duration: float | None) -> None:
    """Overlaps included: the id inside the trace id, the end's text inside the start's, half patterns."""
    end = None if duration is None else start + duration
    trace_id = f"1-5f84c7a1-{seg_id[:4]}{seg_id}ab12"
    texts = {"T": trace_id, "I": seg_id, "S": repr(start), "E": repr(end), "s": repr(start)[:-1],
             "e": repr(end)[1:], "x": '","'}  # fmt: skip
    doc = "".join(texts[p] for p in pieces).encode()
    assert pack(doc, trace_id, seg_id, start, end) == _pack_by_replacing(doc, trace_id, seg_id, start, end)
    assert unpack(pack(doc, trace_id, seg_id, start, end), trace_id, seg_id, start, end) == doc


@settings(max_examples=2000, deadline=None)
@given(st.one_of(st.floats(allow_nan=False), times, st.floats(min_value=1e-6, max_value=1e-3),
                 st.floats(min_value=1e14, max_value=1e18), st.integers(-(2**60), 2**60).map(float)))  # fmt: skip
def test_float_text_is_the_repr(value: float) -> None:
    assert float_text(value) == b"%r" % value

"""The receiver's strict lane (``fluoro.ingest.fast``) against the lenient rules of ``document``.

For every input both must agree: the same ``Reject`` (code, detail, id), or the
same column values of the same types, and the same Arrow tables once shipped.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fluoro.ingest import Reject, ingest, split_datagram
from fluoro.ingest.datagram import datagram_body
from fluoro.ingest.fast import document_rows
from fluoro.store.api import SegmentBatch
from fluoro.store.columns import ANNOTATION_SCHEMA, SEGMENT_SCHEMA, ArrowBatch
from fluoro.store.doc_markers import pack

from ..helpers import FIXTURES
from ..helpers_docs import segment

ANNOTATION_FIELDS = ("ann_trace_id", "ann_trace_key", "ann_trace_time", "ann_received", "ann_key", "ann_str",
                     "ann_num", "ann_bool")  # fmt: skip
FIXTURE_FILES = sorted((FIXTURES / "segments").glob("*.json"))


def typed(row: tuple[Any, ...]) -> list[tuple[type, Any]]:
    """Values with their types, so True and 1 or 1 and 1.0 never compare equal by accident.

    The document may be a view into the datagram (Arrow stores either as binary).
    """
    return [(bytes, bytes(v)) if isinstance(v, memoryview) else (type(v), v) for v in row]


def lenient(body: bytes) -> Any:
    """What ``document.ingest`` makes of ``body``: a refusal, or (segment row, annotation rows)."""
    batch = SegmentBatch()
    try:
        ingest(batch, body, 1.5)
    except Reject as exc:
        return ("reject", exc.code, exc.detail, exc.segment_id)
    cols = vars(batch)
    row = tuple(cols[name][0] for name in SEGMENT_SCHEMA.names)
    annotations = [tuple(cols[name][i] for name in ANNOTATION_FIELDS) for i in range(len(cols["ann_key"]))]
    return typed(row), [typed(a) for a in annotations]


def strict(body: bytes) -> Any:
    try:
        row, annotations = document_rows(datagram_body(b'{"format":"json","version":1}\n' + body), 1.5)
    except Reject as exc:
        return ("reject", exc.code, exc.detail, exc.segment_id)
    return typed(row), [typed(a) for a in annotations]


def test_row_order_is_the_schema_order() -> None:
    fields = list(vars(SegmentBatch()))
    assert fields[: len(SEGMENT_SCHEMA)] == SEGMENT_SCHEMA.names
    assert fields[len(SEGMENT_SCHEMA) :] == list(ANNOTATION_FIELDS)
    assert len(ANNOTATION_FIELDS) == len(ANNOTATION_SCHEMA)


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.name)
def test_published_documents(path: Any) -> None:
    body = path.read_bytes()
    assert strict(body) == lenient(body)


# --- generated documents: mostly valid, with every field sometimes odd ---

ODD = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.sampled_from([0, -1, 10**400, -(10**400), 1.5e308]),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=4), st.sampled_from(["²", "429", "1e3", "٣"]),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)  # fmt: skip
HEX16 = st.text("0123456789abcdef", min_size=16, max_size=16)
TRACE_ID = st.just("1-5759e988-bd862e3fe1be46a994272793")
ODD_TRACE_IDS = st.sampled_from(["1-zz", "1-5759e988-bd862e3fe1be46a99427279G", "1-5759e988_bd862e3fe1be46a994272793",
                                 "2-5759e988-bd862e3fe1be46a994272793", "1-5759E988-bd862e3fe1be46a994272793"])  # fmt: skip


def mostly(good: Any, odd: Any = ODD) -> Any:
    """A good value, and one time in 12 an odd one, so many documents pass every rule."""
    return st.integers(0, 11).flatmap(lambda n: odd if n == 0 else good)


def rarely(draw: Any, good: Any, odd: Any = ODD) -> Any:
    return draw(mostly(good, odd))


ODD_IDS = st.one_of(st.just("ABCDEF0123456789"), st.just("0123456789abcdef\n"), ODD)
ODD_NAMES = st.one_of(st.sampled_from(["n" * 251, "", "\U0001f600" * 251]), ODD)
NAMES = st.one_of(st.text(min_size=1, max_size=5), st.sampled_from(["n" * 250, "é" * 250, "\U0001f600" * 250]))
TIMES = st.one_of(st.floats(1.0, 2e9), st.integers(1, 2**70), st.sampled_from([2**53 + 1, 1.5e308]))
ODD_TIMES = st.one_of(st.sampled_from([0, -1, 10**400, -0.0, 1e-320, True]), ODD)
STATUS = mostly(st.one_of(st.sampled_from([429, 200, 404, 500, "429", "200", "²", "2000", True]), st.integers(-1, 1100)))
HTTP = st.fixed_dictionaries({}, optional={
    "request": mostly(st.fixed_dictionaries({}, optional={
        "method": mostly(st.sampled_from(["GET", "M" * 40])), "url": mostly(st.text(max_size=8)),
        "user_agent": mostly(st.text(max_size=8)), "client_ip": mostly(st.just("1" * 130)),
        "x_forwarded_for": st.booleans(),
    })),
    "response": mostly(st.fixed_dictionaries({}, optional={"status": STATUS, "content_length": ODD})),
})  # fmt: skip
ANNOTATIONS = st.one_of(
    st.dictionaries(
        st.one_of(st.text(max_size=3), st.just(""), st.just("k" * 500), st.just("k" * 501)),
        st.one_of(st.text(max_size=3), st.integers(-(2**70), 2**70), st.just(10**400), st.floats(), st.booleans(),
                  st.none(), st.lists(st.integers(), max_size=1)),  # fmt: skip
        max_size=6,
    ),
    st.just({f"k{i}": i for i in range(60)}),
)


@st.composite
def entity(draw: Any, depth: int, top: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if draw(st.integers(0, 30)):
        doc["id"] = rarely(draw, HEX16, ODD_IDS)
    if draw(st.integers(0, 30)):
        doc["name"] = rarely(draw, NAMES, ODD_NAMES)
    start = rarely(draw, TIMES, ODD_TIMES)
    if draw(st.integers(0, 30)):
        doc["start_time"] = start
    in_progress = rarely(draw, st.sampled_from([False, None, None, None, True]), st.one_of(st.none(), ODD))
    if in_progress is not None:
        doc["in_progress"] = in_progress
    if isinstance(start, (int, float)) and not isinstance(start, bool) and -1e300 < start < 1e300:
        delta = draw(st.floats(0, 5) if isinstance(start, float) else st.integers(0, 5))
        end = start + rarely(draw, st.just(delta), st.just(-delta - 1))
    else:
        end = draw(TIMES)
    if in_progress is not True or draw(st.booleans()):
        end = rarely(draw, st.just(end), st.one_of(st.none(), ODD_TIMES))
        if end is not None:
            doc["end_time"] = end
    optional = {
        "throttle": st.booleans(), "fault": st.booleans(), "error": st.booleans(),
        "cause": st.one_of(st.text(max_size=3), st.fixed_dictionaries({"exceptions": st.lists(st.integers(), max_size=2)})),
        "http": HTTP, "annotations": ANNOTATIONS, "origin": st.one_of(st.just("o" * 260), st.text(max_size=3)),
        "user": st.one_of(st.just("u" * 260), st.text(max_size=3)), "namespace": ODD, "metadata": ODD,
        "trace_id": st.one_of(TRACE_ID, ODD_TRACE_IDS), "parent_id": st.one_of(HEX16, HEX16, ODD_IDS),
        "type": st.just("subsegment"),
    }  # fmt: skip
    for key, values in optional.items():
        if draw(st.integers(0, 2 if key == "http" else 3)) == 0:
            doc[key] = rarely(draw, values)
    if top and draw(st.integers(0, 30)):
        doc["trace_id"] = rarely(draw, TRACE_ID, st.one_of(ODD_TRACE_IDS, ODD))
    if depth < 3 and draw(st.integers(0, 2)) == 0:
        doc["subsegments"] = rarely(draw, st.lists(entity(depth + 1, False), max_size=3))
    return doc


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(entity(0, True))
def test_generated_documents(doc: dict[str, Any]) -> None:
    body = json.dumps(doc).encode()
    assert strict(body) == lenient(body)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(FIXTURE_FILES), min_size=1, max_size=8), st.lists(entity(0, True), max_size=8))
def test_shipped_tables_match_the_lenient_batch(files: list[Any], docs: list[dict[str, Any]]) -> None:
    """The child's Arrow tables (rows + views of the datagrams) equal those of a lenient ``SegmentBatch``."""
    batch = SegmentBatch()
    rows, annotations = [], []
    for body in [p.read_bytes() for p in files] + [json.dumps(d).encode() for d in docs]:
        try:
            ingest(batch, body, 1.5)
        except Reject:
            pass
        try:
            row, anns = document_rows(datagram_body(b'{"format":"json","version":1}\n' + body), 1.5)
        except Reject:
            continue
        rows.append(row)
        annotations.extend(anns)
    shipped = ArrowBatch.from_ipc(*ArrowBatch.from_rows(rows, annotations).to_ipc())
    expected = ArrowBatch.from_batch(batch)
    assert shipped.segments.equals(expected.segments)
    assert shipped.annotations.equals(expected.annotations)


# Accepted by the lenient lane only (the strict types refuse an ``http.request`` that is no object).
LENIENT_ONLY = [json.dumps(segment(http={"request": [1]})).encode(),
                json.dumps(segment(in_progress=True, end_time=None, http={"request": "x"})).encode()]  # fmt: skip


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.one_of(
    st.sampled_from(FIXTURE_FILES).map(lambda p: p.read_bytes()), st.sampled_from(LENIENT_ONLY),
    entity(0, True).map(lambda d: json.dumps(d).encode()),
))  # fmt: skip
def test_a_packer_changes_only_the_document(body: bytes) -> None:
    """``document_rows(..., pack)``: the row it makes without, its document packed (both lanes)."""
    data = b'{"format":"json","version":1}\n' + body
    try:
        row, annotations = document_rows(datagram_body(data), 1.5)
    except Reject as exc:
        with pytest.raises(Reject) as again:
            document_rows(datagram_body(data), 1.5, pack)
        assert (again.value.code, again.value.detail) == (exc.code, exc.detail)
        return
    packed_row, packed_annotations = document_rows(datagram_body(data), 1.5, pack)
    assert typed(packed_row[:22]) == typed(row[:22])
    assert packed_row[22] == pack(bytes(row[22]), row[0], row[2], row[7], row[8])
    assert type(packed_row[22]) is bytes
    assert [typed(a) for a in packed_annotations] == [typed(a) for a in annotations]


def test_deep_nesting_is_refused_alike() -> None:
    doc = inner = segment()
    for _ in range(40):
        child = {"id": "0123456789abcdef", "name": "s", "start_time": doc["start_time"], "end_time": doc["end_time"]}
        inner["subsegments"] = [child]
        inner = child
    body = json.dumps(doc).encode()
    assert strict(body)[:2] == ("reject", "InvalidSegment")
    assert strict(body) == lenient(body)


@pytest.mark.parametrize(
    "doc",
    [
        segment(start_time=10**400),  # an int beyond float64 used to crash the receiver in float()
        segment(start_time=10**400, in_progress=True),
        segment(subsegments=[{"id": "0123456789abcdef", "name": "s", "start_time": 10**400, "in_progress": True}]),
        segment(annotations={"big": 10**400, "ok": 1}),
        segment(http={"response": {"status": "²"}}),  # a non-ASCII digit used to crash int()
    ],
)
def test_numbers_that_used_to_crash(doc: dict[str, Any]) -> None:
    body = json.dumps(doc).encode()
    assert strict(body) == lenient(body)
    assert lenient(body)[0] == "reject" or lenient(body)[1] == [] or len(lenient(body)[1]) == 1


HEADERS = st.sampled_from([b'{"format":"json","version":1}', b'{"format": "json", "version": 1}',
                           b'{"format":"JSON","version":1.0}', b'{"format":"json","version":2}', b"", b"x"])  # fmt: skip


@given(HEADERS, st.sampled_from([b"\n", b"", b"\r\n"]), st.binary(max_size=6), st.sampled_from([b"", b" \t", b"{}"]))
def test_datagram_split_keeps_its_rules(header: bytes, sep: bytes, junk: bytes, body: bytes) -> None:
    """The copy-free split accepts and refuses what ``bytes.partition`` + ``strip`` did."""
    data = header + sep + junk + body
    head, found, rest = data.partition(b"\n")
    try:
        got: Any = bytes(datagram_body(data))
    except Reject as exc:
        got = exc.code
    try:
        assert split_datagram(data) == got
    except Reject as exc:
        assert exc.code == got
    if got == "InvalidHeader" or isinstance(got, bytes):
        return
    assert not found or not rest.strip()

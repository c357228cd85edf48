"""``X-Amzn-Trace-Id`` parsing and formatting (upstream's cases, plus fluoro's tolerant
ones) and the W3C ``traceparent`` mapping."""

from __future__ import annotations

import logging

import pytest
from aws_xray_sdk.core.models.trace_header import TraceHeader as UpstreamTraceHeader

from fluoro.core.models.trace_header import TraceHeader

TRACE_ID = "1-5759e988-bd862e3fe1be46a994272793"
PARENT_ID = "53995c3f42cd8ad8"
W3C = "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01"


def _fields(header) -> tuple:  # type: ignore[no-untyped-def]
    return header.root, header.parent, header.sampled, header.data


# -- upstream's own cases (tests/test_trace_header.py) ---------------------------------

def test_no_sample() -> None:
    header = TraceHeader(root=TRACE_ID, parent=PARENT_ID)
    assert header.sampled is None
    assert (header.root, header.parent) == (TRACE_ID, PARENT_ID)
    assert header.to_header_str() == "Root=%s;Parent=%s" % (TRACE_ID, PARENT_ID)


def test_no_parent() -> None:
    header = TraceHeader(root=TRACE_ID, sampled=1)
    assert header.parent is None
    assert header.to_header_str() == "Root=%s;Sampled=1" % TRACE_ID


def test_from_str() -> None:
    assert _fields(TraceHeader.from_header_str("Root=%s;Parent=%s;Sampled=1" % (TRACE_ID, PARENT_ID))) == (
        TRACE_ID, PARENT_ID, 1, {})
    assert _fields(TraceHeader.from_header_str("Root=%s;Sampled=0" % TRACE_ID)) == (TRACE_ID, None, 0, {})
    assert _fields(TraceHeader.from_header_str("Root=%s;Parent=%s" % (TRACE_ID, PARENT_ID))) == (
        TRACE_ID, PARENT_ID, None, {})


def test_invalid_str(caplog) -> None:  # type: ignore[no-untyped-def]
    with caplog.at_level(logging.WARNING):
        header = TraceHeader.from_header_str("some invalid string")
    assert (header.root, header.parent, header.sampled) == (None, None, None)
    assert "malformed tracing header some invalid string, ignore." in caplog.text


# -- agreement with upstream on well-formed headers ------------------------------------

@pytest.mark.parametrize("raw", [
    "Root=%s;Parent=%s;Sampled=1" % (TRACE_ID, PARENT_ID),
    "Root=%s;Parent=%s;Sampled=0" % (TRACE_ID, PARENT_ID),
    "Root=%s;Sampled=?" % TRACE_ID,
    "Root=%s;Parent=%s;Sampled=1;Lineage=a87bd80c:0,68fd508a:5;Foo=bar" % (TRACE_ID, PARENT_ID),
    "Root=%s;Self=1-67891233-abcdef012345678912345678;Parent=%s" % (TRACE_ID, PARENT_ID),
    "Parent=%s;Sampled=1" % PARENT_ID,
    "Root=%s;Sampled=2" % TRACE_ID,
    "",
])
def test_same_as_upstream(raw: str) -> None:
    ours, theirs = TraceHeader.from_header_str(raw), UpstreamTraceHeader.from_header_str(raw)
    assert (ours.root, ours.parent, ours.sampled) == (theirs.root, theirs.parent, theirs.sampled)
    assert (ours.data or {}) == (theirs.data or {})
    assert ours.to_header_str() == theirs.to_header_str()


def test_data_fields_and_self() -> None:
    header = TraceHeader.from_header_str(
        "Root=%s;Self=1-67891233-abcdef012345678912345678;Parent=%s;Sampled=1;Lineage=a:1;Foo=bar"
        % (TRACE_ID, PARENT_ID))
    assert header.data == {"Lineage": "a:1", "Foo": "bar"}  # Self (from ALB) is dropped
    assert header.to_header_str() == "Root=%s;Parent=%s;Sampled=1;Lineage=a:1;Foo=bar" % (TRACE_ID, PARENT_ID)


@pytest.mark.parametrize("value,expected", [
    (True, 1), ("1", 1), (1, 1), (False, 0), ("0", 0), (0, 0), ("?", "?"), ("yes", None), (2, None), (None, None),
])
def test_sampled_normalization(value, expected) -> None:  # type: ignore[no-untyped-def]
    assert TraceHeader(root=TRACE_ID, sampled=value).sampled == expected
    assert UpstreamTraceHeader(root=TRACE_ID, sampled=value).sampled == expected


# -- tolerant where upstream drops the whole header -------------------------------------

@pytest.mark.parametrize("raw,expected", [
    ("Root=%s;Parent=%s;Sampled=1;" % (TRACE_ID, PARENT_ID), (TRACE_ID, PARENT_ID, 1, {})),
    ("Root=%s; Parent=%s; Sampled=0" % (TRACE_ID, PARENT_ID), (TRACE_ID, PARENT_ID, 0, {})),
    ("  Root = %s ;Parent=%s ;; Sampled=1 ; " % (TRACE_ID, PARENT_ID), (TRACE_ID, PARENT_ID, 1, {})),
    ("Root=%s;Sampled=true" % TRACE_ID, (TRACE_ID, None, 1, {})),
    ("Root=%s;Sampled=false" % TRACE_ID, (TRACE_ID, None, 0, {})),
    ("Root=%s;Lineage=a:b=c" % TRACE_ID, (TRACE_ID, None, None, {"Lineage": "a:b=c"})),
    (b"Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1", (TRACE_ID, None, 1, {})),
])
def test_tolerant_parsing(raw, expected) -> None:  # type: ignore[no-untyped-def]
    assert _fields(TraceHeader.from_header_str(raw)) == expected


def test_upstream_is_stricter_on_the_tolerant_cases() -> None:
    # Deliberate: upstream loses every field on a trailing ';', keeps ' Parent' as a data
    # key, ignores Sampled=true and cuts a value at its second '='.
    trailing = UpstreamTraceHeader.from_header_str("Root=%s;Parent=%s;Sampled=1;" % (TRACE_ID, PARENT_ID))
    assert (trailing.root, trailing.parent, trailing.sampled) == (None, None, None)
    spaced = UpstreamTraceHeader.from_header_str("Root=%s; Parent=%s" % (TRACE_ID, PARENT_ID))
    assert spaced.parent is None and spaced.data == {" Parent": PARENT_ID}
    assert UpstreamTraceHeader.from_header_str("Root=%s;Sampled=true" % TRACE_ID).sampled is None
    assert UpstreamTraceHeader.from_header_str("Root=%s;Lineage=a:b=c" % TRACE_ID).data == {"Lineage": "a:b"}


@pytest.mark.parametrize("raw", ["Root", "Root=x;Parent", "=;=;junk", "garbage"])
def test_malformed_headers_are_empty(raw: str, caplog) -> None:  # type: ignore[no-untyped-def]
    with caplog.at_level(logging.WARNING):
        header = TraceHeader.from_header_str(raw)
    assert (header.root, header.parent, header.sampled) == (None, None, None)
    assert header.to_header_str() == ""
    assert "malformed tracing header" in caplog.text


def test_empty_and_none_headers_are_empty_without_warning(caplog) -> None:  # type: ignore[no-untyped-def]
    with caplog.at_level(logging.WARNING):
        for raw in ("", None):
            assert _fields(TraceHeader.from_header_str(raw))[:3] == (None, None, None)
    assert caplog.text == ""


# -- W3C traceparent --------------------------------------------------------------------

def test_traceparent_round_trip() -> None:
    header = TraceHeader.from_traceparent(W3C)
    assert header is not None
    assert _fields(header) == (TRACE_ID, PARENT_ID, 1, {})
    assert header.to_traceparent() == W3C
    assert header.to_header_str() == "Root=%s;Parent=%s;Sampled=1" % (TRACE_ID, PARENT_ID)
    back = TraceHeader.from_header_str(header.to_header_str())
    assert back.to_traceparent() == W3C


def test_traceparent_flags_and_versions() -> None:
    unsampled = TraceHeader.from_traceparent(W3C[:-2] + "00")
    assert unsampled.sampled == 0 and unsampled.to_traceparent() == W3C[:-2] + "00"
    assert TraceHeader.from_traceparent(W3C[:-2] + "03").sampled == 1  # only the sampled bit counts
    # A future version may append fields; they are ignored.
    future = TraceHeader.from_traceparent("cc" + W3C[2:] + "-what-the-future-holds")
    assert future is not None and (future.root, future.parent) == (TRACE_ID, PARENT_ID)
    assert TraceHeader.from_traceparent("  %s  " % W3C).root == TRACE_ID


def test_to_traceparent_from_xray_headers() -> None:
    assert TraceHeader(root=TRACE_ID.upper(), parent=PARENT_ID.upper(),
                       sampled=0).to_traceparent() == W3C[:-2] + "00"
    assert TraceHeader(root=TRACE_ID, parent=PARENT_ID, sampled="?").to_traceparent() == W3C[:-2] + "00"
    assert TraceHeader(root=TRACE_ID).to_traceparent() is None  # no parent
    assert TraceHeader(root="not-an-xray-id", parent=PARENT_ID).to_traceparent() is None
    assert TraceHeader(root=TRACE_ID, parent="abc").to_traceparent() is None
    assert TraceHeader().to_traceparent() is None


@pytest.mark.parametrize("raw", [
    None, "", 42, "not a traceparent",
    "ff-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01",  # version ff is invalid
    "00-" + "0" * 32 + "-53995c3f42cd8ad8-01",  # all-zero trace id
    "00-5759e988bd862e3fe1be46a994272793-" + "0" * 16 + "-01",  # all-zero parent id
    "00-5759E988BD862E3FE1BE46A994272793-53995c3f42cd8ad8-01",  # uppercase hex
    "00-5759e988bd862e3fe1be46a99427279-53995c3f42cd8ad8-01",  # short trace id
    "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad-01",  # short parent id
    "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-1",  # short flags
    "00-5759e988bd862e3fe1be46a99427279g-53995c3f42cd8ad8-01",  # non-hex
    "00_5759e988bd862e3fe1be46a994272793_53995c3f42cd8ad8_01",
    "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01-extra",  # version 00 has exactly 4 fields
    "0-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01",
])
def test_invalid_traceparents(raw) -> None:  # type: ignore[no-untyped-def]
    assert TraceHeader.from_traceparent(raw) is None

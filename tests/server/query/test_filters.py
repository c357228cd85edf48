"""The filter parser: documented examples, trees, scopes, groups, errors that point at the mistake."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fluoro.query.assemble import Trace, assemble
from fluoro.query.filters import FilterError, parse
from fluoro.query.filters.ast import (
    And,
    Annotation,
    Compare,
    Const,
    Edge,
    Flag,
    Not,
    Or,
    Present,
    RootCause,
    RootCauseJson,
    Selector,
    Service,
)
from fluoro.query.filters.evaluate import matches
from fluoro.query.filters.tokens import tokenize
from fluoro.store.api import StoredDocument

from .filter_scenarios import EXPECTED, EXTRA, build, resolve_group


@pytest.mark.parametrize("text", [e for e, _ in EXPECTED + EXTRA])
def test_every_documented_example_parses(text: str) -> None:
    assert parse(text, resolve_group) is not None


@pytest.mark.parametrize(
    "text, tree",
    [
        ("responsetime > 5", Compare("responsetime", ">", 5.0)),
        ("ok = false", Not(Flag("ok"))),
        ("fault != false", Flag("fault")),
        ("ok !partial duration <3", And((Flag("ok"), Not(Flag("partial")), Compare("duration", "<", 3.0)))),
        ('user CONTAINS ""', Compare("user", "contains", "")),
        ("http.url AND responseTime > 2", And((Present("http.url"), Compare("responsetime", ">", 2.0)))),
        ("annotation.age", Annotation("age")),
        ("annotation[Request.ID] = true", Annotation("Request.ID", "=", True)),
        ('annotation[aws:api_id] = "x"', Annotation("aws:api_id", "=", "x")),
        ('(ok OR fault) and user = "x"', And((Or((Flag("ok"), Flag("fault"))), Compare("user", "=", "x")))),
        ("ok || fault && error", Or((Flag("ok"), And((Flag("fault"), Flag("error")))))),
        ('http.method = "G\\"ET\\u00e9"', Compare("http.method", "=", 'G"ETé')),
        ("service() { fault }", Service(Selector(), Flag("fault"))),
        ('!service("a")', Not(Service(Selector("a")))),
        ('service(id(type: "T", account.id: "1")) { root }', Service(Selector(None, "T", "1"), Flag("root"))),
        ('edge("a", id(name: "b")) { error }', Edge(Selector("a"), Selector("b"), Flag("error"))),
        ('rootcause.fault.service { name = traces }', RootCause("fault", "service", Compare("name", "=", "traces"))),
        ('rootcause.json = #[{"Services": []}]', RootCauseJson(({"Services": []},))),
        ('group.name = "high_response_time"', Compare("responsetime", ">", 5.0)),
        ('group.name != "high_response_time"', Not(Compare("responsetime", ">", 5.0))),
        ('group.name = "unknown"', Const(False)),
        ("   ", None),
    ],
)
def test_trees(text: str, tree: object) -> None:
    assert parse(text, resolve_group) == tree


@pytest.mark.parametrize(
    "text, pos, reason",
    [
        ("responsetime >", 14, "expected a number after '>', found the end of the expression"),
        ('responsetime > "x"', 15, "expected a number after '>'"),
        ("http.url > 3", 9, "expected an operator (!=, =, BEGINSWITH, CONTAINS, ENDSWITH) after 'http.url'"),
        ("ok = maybe", 5, "expected true or false after '='"),
        ("(ok", 3, "expected ')' to close the '(' at position 0"),
        ("ok)", 2, "unbalanced ')'"),
        ("annotation.", 0, "expected an annotation key"),
        ("$", 0, "unexpected character '$'"),
        ('user = "abc', 7, "unterminated string"),
        ("(" * 200 + "ok" + ")" * 200, 100, "nested too deeply"),
        ("colour = 3", 0, "unknown keyword 'colour'"),
        ("coverage > 0.5", 0, "coverage is not valid at trace level"),
        ("index > 1", 0, "index is not valid at trace level"),
        ('message = "x"', 0, "message is not valid at trace level"),
        ("root", 0, "root is not valid at trace level"),
        ("first", 0, "first is not valid at trace level"),
        ('service("a") { coverage > 1 }', 15, "coverage is not valid inside service() { }"),
        ('service("a") { service("b") }', 15, "service is only valid at trace level"),
        ('edge("a", "b") { root }', 17, "root is not valid inside edge() { }"),
        ('edge("a", "b") { annotation.x }', 17, "annotation is not valid inside edge() { }"),
        ("rootcause.fault.service { coverage > 0.5 }", 26, "coverage is not valid inside rootcause.fault.service"),
        ('rootcause.error.entity { message = "x" }', 25, "message is not valid inside rootcause.error.entity"),
        ("rootcause.responsetime.exception { last }", 0, "response-time root causes have no exceptions"),
        ("rootcause.fault.thing { last }", 0, "unknown keyword 'rootcause.fault.thing'"),
        ("rootcause.fault.entity last", 23, "expected '{' to open the rootcause.fault.entity filter"),
        # The devguide's own example is missing its closing brace.
        ('rootcause.fault.exception { last and message = "Access Denied" }'[:-2], 62, "expected '}' to close the '{' at position 26"),
        ("rootcause.json = #[{\"a\": ]", 25, "invalid JSON after '#'"),
        ("rootcause.json = #[1]", 15, "rootcause.json needs a list of root-cause objects"),
        ('service(id(name "x"))', 16, "expected ':' after 'name'"),
        ('service(id(colour: "x"))', 11, "expected name:, type: or account.id: in id()"),
        ('edge("a") { ok }', 8, "expected ',' between the two services of edge()"),
        ("service(3)", 8, "expected ')' after the service name"),
        ('id(name: "x")', 0, "id(...) may only stand where a service name does"),
        ("annotation.age > true", 15, "a boolean annotation compares with = or !="),
        ("annotation.age contains 3", 15, "CONTAINS needs a quoted string"),
        ("ok and", 6, "expected a keyword, found the end of the expression"),
        ("service() { }", 12, "expected a filter inside '{ }'"),
        ('group.name = "loop_a"', 13, "group 'loop_a' refers to itself (loop_a -> loop_b -> loop_a)"),
        ('group.name = "broken"', 13, "in group 'broken': expected a number after '>'"),
        ("group.id = 3", 0, "groups are group.name or group.arn"),
        ("ok\nand fault >", 13, "(line 2, column 11)"),
    ],
)
def test_errors_name_the_mistake_and_position(text: str, pos: int, reason: str) -> None:
    groups = {("name", "loop_a"): 'group.name = "loop_b"', ("name", "loop_b"): 'ok or group.name = "loop_a"',
              ("name", "broken"): "responsetime >"}  # fmt: skip
    with pytest.raises(FilterError) as exc:
        parse(text, lambda kind, value: groups.get((kind, value)))
    assert exc.value.pos == pos
    assert reason in str(exc.value)
    assert f"at position {pos}" in str(exc.value)


def test_length_limit() -> None:
    with pytest.raises(FilterError, match="longer than"):
        parse("ok " * 1000)


def test_self_referencing_group_is_an_error_not_a_hang() -> None:
    with pytest.raises(FilterError, match="refers to itself"):
        parse('group.name = "me"', lambda kind, value: 'ok and group.name = "me"')


_PIECES = st.sampled_from([
    "ok", "!", "not", "and", "or", "&&", "||", "(", ")", "{", "}", "service(", 'service("a")', "edge(", "id(",
    "name:", '"x"', '"', "\\", "3", "-1.5e3", "=", "!=", ">", "<=", "contains", "http.url", "annotation.k",
    "annotation[", "]", "rootcause.fault.entity", "rootcause.json", "#[", "{}", "true", "group.name", ",",
    "coverage", "root", "first", "responsetime", "user", " ",
])  # fmt: skip


def _scenario_traces() -> list[Trace]:
    ids, docs = build(1_700_000_000)
    return [
        assemble(t, [StoredDocument(t, d["id"], False, 1.0, json.dumps(d).encode()) for d in docs if d["trace_id"] == t])
        for t in ids.values()
    ]


_TRACES = _scenario_traces()


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=14).map(" ".join) | st.text(max_size=60))
def test_random_text_parses_or_fails_cleanly(text: str) -> None:
    """Random text is either a FilterError with a position or a tree every trace can be evaluated on."""
    try:
        node = parse(text, lambda kind, value: "ok" if value == "x" else None)
    except FilterError as exc:
        assert 0 <= exc.pos <= len(text)
        return
    for trace in _TRACES:
        assert matches(node, trace) in (True, False)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_hostile_strings_stay_values(value: str) -> None:
    """Any string, JSON-escaped, comes back as exactly that value, never as syntax."""
    quoted = json.dumps(value)
    assert parse(f"user = {quoted}") == Compare("user", "=", value)
    assert parse(f"annotation[k] = {quoted} and ok") == And((Annotation("k", "=", value), Flag("ok")))
    assert [t.type for t in tokenize(f"http.url CONTAINS {quoted}")] == ["ident", "ident", "string", "end"]

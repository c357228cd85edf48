"""EntitySelectorExpression parsing (service(), edge(), id())."""

from __future__ import annotations

import pytest

from fluoro.query.nodes import NodeKey
from fluoro.query.selector import Match, Selector, SelectorError, parse_selector


@pytest.mark.parametrize(("text", "expected"), [
    ('service("api")', Selector(Match("api"))),
    ('  SERVICE ( "a b\\"c" ) ', Selector(Match('a b"c'))),
    ('service(id(name: "orders", type: "AWS::DynamoDB::Table"))', Selector(Match("orders", "AWS::DynamoDB::Table"))),
    ('id(name: "f", type: "AWS::Lambda::Function", account.id: "1")', Selector(Match("f", "AWS::Lambda::Function", "1"))),
    ('id(type: "client")', Selector(Match(None, "client"))),
    ('edge("a", "b")', Selector(Match("b"), Match("a"))),
    ('edge(id(name: "a", type: "client"), "b")', Selector(Match("b"), Match("a", "client"))),
])  # fmt: skip
def test_parses(text: str, expected: Selector) -> None:
    assert parse_selector(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("", "expected one service(...), edge(...) or id(...)"),
    ('service("a"', "expected ')' after the service name, found the end of the expression at position 11"),
    ('service("a") extra', "at position 13"),
    ('edge("a")', "expected ',' between the two services of edge(), found ')' at position 8"),
    ('id(colour: "red")', "found 'colour' at position 3"),
    ('service(a)', "found 'a' at position 8"),
    ("annotation.x = 1", "alone"),
    ('service("a") { fault }', "with no { } body"),
    ('service("' + "x" * 500 + '")', "longer than 500"),
])  # fmt: skip
def test_rejects_with_a_precise_message(text: str, message: str) -> None:
    with pytest.raises(SelectorError, match=None) as exc:
        parse_selector(text)
    assert message in str(exc.value)


def test_match_on_node_keys() -> None:
    key = NodeKey("orders", "AWS::Lambda", "123")
    assert Match("orders").matches(key) and Match("orders", "AWS::Lambda", "123").matches(key)
    assert not Match("orders", "AWS::Lambda::Function").matches(key) and not Match("x").matches(key)

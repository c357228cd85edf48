"""The simple-keyword filter parser: documented examples, errors with positions."""

from __future__ import annotations

import pytest

from fluoro.query.filters import FilterError, parse
from fluoro.query.filters.ast import And, Annotation, Compare, Flag, Not, Or, Present


@pytest.mark.parametrize(
    "text, tree",
    [
        ("responsetime > 5", Compare("responsetime", ">", 5.0)),
        ("duration >= 5 AND duration <= 8", And((Compare("duration", ">=", 5.0), Compare("duration", "<=", 8.0)))),
        ("ok", Flag("ok")),
        ("!ok", Not(Flag("ok"))),
        ("ok = false", Not(Flag("ok"))),
        ("fault != false", Flag("fault")),
        ("ok !partial duration <3", And((Flag("ok"), Not(Flag("partial")), Compare("duration", "<", 3.0)))),
        ("http.status != 200", Compare("http.status", "!=", 200.0)),
        ('http.url CONTAINS "/api/game/"', Compare("http.url", "contains", "/api/game/")),
        ('user CONTAINS ""', Compare("user", "contains", "")),
        ("http.url AND responseTime > 2", And((Present("http.url"), Compare("responsetime", ">", 2.0)))),
        ('annotation.gameid = "817DL6VO"', Annotation("gameid", "=", "817DL6VO")),
        ("annotation.age", Annotation("age")),
        ("!annotation.age", Not(Annotation("age"))),
        ("annotation.age > 29", Annotation("age", ">", 29.0)),
        ("annotation[Request.ID] = true", Annotation("Request.ID", "=", True)),
        ('(ok OR fault) and user = "x"', And((Or((Flag("ok"), Flag("fault"))), Compare("user", "=", "x")))),
        ('http.method = "G\\"ET"', Compare("http.method", "=", 'G"ET')),
        ("   ", None),
    ],
)
def test_parses(text: str, tree: object) -> None:
    assert parse(text) == tree


@pytest.mark.parametrize(
    "text, pos",
    [
        ("responsetime >", 14),
        ("responsetime > \"x\"", 15),
        ("http.url > 3", 9),
        ("ok = maybe", 5),
        ("(ok", 3),
        ("ok)", 2),
        ('service("a") { fault }', 0),
        ("annotation.", 0),
        ("$", 0),
        ("(" * 200 + "ok" + ")" * 200, 100),
    ],
)
def test_errors_point_at_the_text(text: str, pos: int) -> None:
    with pytest.raises(FilterError) as exc:
        parse(text)
    assert exc.value.pos == pos


def test_length_limit() -> None:
    with pytest.raises(FilterError, match="longer than"):
        parse("ok " * 1000)

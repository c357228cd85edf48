"""wildcard_match: ``*`` any run, ``?`` one char, case-insensitive by default (upstream cases)."""

from __future__ import annotations

import pytest

from fluoro.core.utils.search_pattern import wildcard_match


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("foo", "foo", True),
        ("foo", "cat", False),
        ("fo?", "foo", True),
        ("f?o", "boo", False),
        ("?o?", "foo", True),
        ("f??", "boo", False),
        ("foo*", "foo", True),
        ("foo*", "fo0", False),
        ("fo*", "boo", False),
        ("*o?", "foo", True),
        ("f?*", "boo", False),
        ("*", "foo", True),
        ("6573459", "6573459", True),
        ("abcd", "abc", False),
    ],
)
def test_basic(pattern: str, text: str, expected: bool) -> None:
    assert wildcard_match(pattern, text) is expected


def test_misc() -> None:
    assert wildcard_match("?at", "bat")
    assert wildcard_match("?at", "cat")
    assert wildcard_match("?o?se", "horse")
    assert wildcard_match("?o?se", "mouse")
    assert wildcard_match("*s", "dogs")
    assert wildcard_match("*s", "horses")
    assert wildcard_match("J*", "Jeep")
    assert wildcard_match("????", "ford")
    assert not wildcard_match("????", "chevy")
    assert wildcard_match("*", "cAr")
    assert wildcard_match("*/foo", "/bar/foo")


def test_case_insensitivity() -> None:
    assert wildcard_match("Foo", "Foo", False)
    assert wildcard_match("Foo", "Foo", True)
    assert not wildcard_match("Foo", "FOO", False)
    assert wildcard_match("Foo", "FOO", True)
    assert wildcard_match("Fo*", "Foo0", False)
    assert wildcard_match("Fo*", "Foo0", True)
    assert not wildcard_match("Fo*", "FOo0", False)
    assert wildcard_match("Fo*", "FOo0", True)
    assert wildcard_match("Fo?", "Foo", False)
    assert wildcard_match("Fo?", "Foo", True)
    assert not wildcard_match("Fo?", "FOo", False)
    assert wildcard_match("Fo?", "FoO", False)
    assert wildcard_match("Fo?", "FOO", True)


def test_edge_case_globs() -> None:
    assert wildcard_match("", "")
    assert not wildcard_match("", "a")
    assert wildcard_match("a", "a")
    assert wildcard_match("*a", "a")
    assert wildcard_match("*a", "ba")
    assert wildcard_match("a*", "a")
    assert wildcard_match("a*", "ab")
    assert wildcard_match("a*a", "aa")
    assert wildcard_match("a*a", "aba")
    assert wildcard_match("a*a", "aaa")
    assert wildcard_match("a*a*", "aa")
    assert wildcard_match("a*a*", "aba")
    assert wildcard_match("a*a*", "aaa")
    assert wildcard_match("a*a*", "a" * 26)
    assert wildcard_match(
        "a*b*a*b*a*b*a*b*a*",
        "akljd9gsdfbkjhaabajkhbbyiaahkjbjhbuykjakjhabkjhbabjhkaabbabbaaakljdfsjklababkjbsdabab",
    )
    assert not wildcard_match("a*na*ha", "anananahahanahana")


def test_multi_globs() -> None:
    assert wildcard_match("*a", "a")
    assert wildcard_match("**a", "a")
    assert wildcard_match("***a", "a")
    assert wildcard_match("**a*", "a")
    assert wildcard_match("**a**", "a")
    assert wildcard_match("a**b", "ab")
    assert wildcard_match("a**b", "abb")
    assert wildcard_match("*?", "a")
    assert wildcard_match("*?", "aa")
    assert wildcard_match("*??", "aa")
    assert not wildcard_match("*???", "aa")
    assert wildcard_match("*?", "aaa")
    assert wildcard_match("?", "a")
    assert not wildcard_match("??", "a")
    assert wildcard_match("?*", "a")
    assert not wildcard_match("?*?", "a")
    assert wildcard_match("?*?", "aa")
    assert wildcard_match("*?*", "a")
    assert not wildcard_match("*?*a", "a")
    assert wildcard_match("*?*a*", "ba")


def test_none_never_matches() -> None:
    assert not wildcard_match(None, "a")
    assert not wildcard_match("*", None)
    assert not wildcard_match(None, None)


def test_regex_metacharacters_are_literal() -> None:
    assert wildcard_match("/api/v1.0/(x)+", "/api/v1.0/(x)+")
    assert not wildcard_match("/api/v1.0", "/api/v1x0")
    assert wildcard_match("a[b]*", "A[B]cd")


def test_newlines_are_ordinary_characters() -> None:
    assert wildcard_match("a*b", "a\nb")
    assert wildcard_match("a?b", "a\nb")

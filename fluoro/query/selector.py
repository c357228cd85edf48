"""``EntitySelectorExpression`` for GetTimeSeriesServiceStatistics, parsed on its own.

Only the selector forms that operation takes: ``service("name")``,
``service(id(name: "n", type: "t"))``, ``id(name: "n", type: "t")`` and
``edge(A, B)`` where A and B are a quoted name or an ``id(...)``.  The full
filter language (``fluoro.query.filters``) may take this over once it parses
these scopes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fluoro.query.nodes import NodeKey

MAX_LENGTH = 500


class SelectorError(ValueError):
    pass


@dataclass(frozen=True)
class Match:
    """A node pattern: a name, and a type and account when given."""

    name: str | None = None
    type: str | None = None
    account: str | None = None

    def matches(self, key: NodeKey) -> bool:
        return (
            (self.name is None or key.name == self.name)
            and (self.type is None or key.type == self.type)
            and (self.account is None or key.account == self.account)
        )


@dataclass(frozen=True)
class Selector:
    """Either a service (``target`` only) or an edge (``source`` → ``target``)."""

    target: Match
    source: Match | None = None

    @property
    def is_edge(self) -> bool:
        return self.source is not None


_TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<word>[A-Za-z_]+)|(?P<punct>[(),:]))')


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        text = text.rstrip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise SelectorError(f"unexpected character at position {pos}: {text[pos : pos + 10]!r}")
            kind = m.lastgroup or ""
            value = m.group(kind)
            if kind == "str":
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            self.tokens.append((kind, value))
            pos = m.end()
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, kind: str, value: str | None = None) -> str:
        tok = self.peek()
        if tok is None or tok[0] != kind or (value is not None and tok[1].lower() != value):
            want = value or {"str": "a quoted string", "word": "a keyword"}.get(kind, kind)
            got = "the end" if tok is None else repr(tok[1])
            raise SelectorError(f"expected {want}, found {got}")
        self.i += 1
        return tok[1]

    def endpoint(self) -> Match:
        tok = self.peek()
        if tok and tok[0] == "str":
            return Match(name=self.take("str"))
        return self.id_call()

    def id_call(self) -> Match:
        self.take("word", "id")
        self.take("punct", "(")
        fields: dict[str, str] = {}
        while True:
            name = self.take("word").lower()
            if name not in ("name", "type", "account"):
                raise SelectorError(f"id() takes name, type and account, not {name}")
            self.take("punct", ":")
            fields[name] = self.take("str")
            tok = self.peek()
            if tok == ("punct", ","):
                self.i += 1
                continue
            break
        self.take("punct", ")")
        return Match(fields.get("name"), fields.get("type"), fields.get("account"))

    def selector(self) -> Selector:
        tok = self.peek()
        if tok is None:
            raise SelectorError("empty selector")
        word = tok[1].lower() if tok[0] == "word" else ""
        if word == "id":
            out = Selector(self.id_call())
        elif word == "service":
            self.i += 1
            self.take("punct", "(")
            out = Selector(self.endpoint())
            self.take("punct", ")")
        elif word == "edge":
            self.i += 1
            self.take("punct", "(")
            source = self.endpoint()
            self.take("punct", ",")
            target = self.endpoint()
            self.take("punct", ")")
            out = Selector(target, source)
        else:
            raise SelectorError("expected service(...), edge(...) or id(...)")
        if self.peek() is not None:
            raise SelectorError(f"unexpected {self.peek()[1]!r} after the selector")  # type: ignore[index]
        return out


def parse_selector(text: str) -> Selector:
    if len(text) > MAX_LENGTH:
        raise SelectorError(f"the expression is longer than {MAX_LENGTH} characters")
    return _Parser(text).selector()

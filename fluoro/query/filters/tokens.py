"""Tokenizer for filter expressions: keywords fold case, strings use JSON escapes."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from fluoro.query.filters.errors import FilterError

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<number>-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<op><=|>=|!=|=|<|>)
  | (?P<bang>!)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<lbrace>\{)
  | (?P<rbrace>\})
  | (?P<comma>,)
  | (?P<json>\#\[)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_.:\-]*(?:\[[^\]]*\])?)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    type: str  # string, number, op, bang, lparen, rparen, lbrace, rbrace, comma, json, ident, end
    text: str
    pos: int


def tokenize(text: str) -> list[Token]:
    out: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise FilterError(f"unexpected character {text[pos]!r}", text, pos)
        kind = m.lastgroup or ""
        if kind != "ws":
            out.append(Token(kind, m.group(), pos))
        pos = m.end()
    out.append(Token("end", "", len(text)))
    return out


def string_value(token: Token) -> str:
    try:
        value = json.loads(token.text)
    except ValueError as exc:
        raise FilterError("invalid string literal", token.text, token.pos) from exc
    assert isinstance(value, str)
    return value

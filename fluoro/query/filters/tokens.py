"""Tokenizer for filter expressions: keywords fold case, strings use JSON escapes, ``#[`` starts JSON."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from fluoro.query.filters.errors import FilterError

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<number>-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<and>&&)
  | (?P<or>\|\|)
  | (?P<op><=|>=|!=|=|<|>)
  | (?P<bang>!)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<lbrace>\{)
  | (?P<rbrace>\})
  | (?P<comma>,)
  | (?P<colon>:)
  | (?P<json>\#\[)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_.\-]*(?:\[[^\]]*\])?)
    """,
    re.VERBOSE,
)
_JSON = json.JSONDecoder()


@dataclass(frozen=True)
class Token:
    # string, number, and, or, op, bang, lparen, rparen, lbrace, rbrace, comma, colon, json, ident, end
    type: str
    text: str
    pos: int
    value: Any = None  # the decoded array of a json token


def tokenize(text: str) -> list[Token]:
    out: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            if text[pos] == '"':
                raise FilterError("unterminated string", text, pos)
            raise FilterError(f"unexpected character {text[pos]!r}", text, pos)
        kind = m.lastgroup or ""
        if kind == "json":
            try:
                value, end = _JSON.raw_decode(text, pos + 1)
            except (ValueError, RecursionError) as exc:
                where = getattr(exc, "pos", pos + 1)
                raise FilterError("invalid JSON after '#'", text, where) from None
            out.append(Token("json", text[pos:end], pos, value))
            pos = end
            continue
        if kind != "ws":
            out.append(Token(kind, m.group(), pos))
        pos = m.end()
    out.append(Token("end", "", len(text)))
    return out


def string_value(token: Token, text: str = "") -> str:
    try:
        value = json.loads(token.text)
    except ValueError:
        raise FilterError("invalid escape in string", text or token.text, token.pos) from None
    assert isinstance(value, str)
    return value

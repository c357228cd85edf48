"""Recursive-descent parser for the simple filter keywords of issue [2].

Grammar (case-insensitive keywords, adjacency means AND, as the console allows):

    expr    := conj (OR conj)*
    conj    := unary ((AND)? unary)*
    unary   := ("!" | NOT) unary | "(" expr ")" | term
    term    := FLAG [("=" | "!=") BOOL] | NUMFIELD OP NUMBER
             | STRFIELD [STROP STRING] | annotation.KEY [OP VALUE]

The full language (service(), edge(), rootcause, groups) extends ``term``.
"""

from __future__ import annotations

from fluoro.query.filters.ast import (
    FLAGS,
    NUMBER_FIELDS,
    NUMBER_OPS,
    STRING_FIELDS,
    STRING_OPS,
    And,
    Annotation,
    Compare,
    Flag,
    Node,
    Not,
    Or,
    Present,
    Value,
)
from fluoro.query.filters.errors import FilterError
from fluoro.query.filters.tokens import Token, string_value, tokenize

MAX_LENGTH = 2000
_STRING_OPS_WORDS = {"contains", "beginswith", "endswith"}


def parse(text: str) -> Node | None:
    """Parse ``text``; an empty or blank expression matches everything (None)."""
    if len(text) > MAX_LENGTH:
        raise FilterError(f"expression longer than {MAX_LENGTH} characters", text, MAX_LENGTH)
    if not text.strip():
        return None
    return _Parser(text).parse()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def fail(self, message: str, tok: Token | None = None) -> FilterError:
        tok = tok or self.tok
        return FilterError(message, self.text, tok.pos)

    def word(self, tok: Token | None = None) -> str:
        tok = tok or self.tok
        return tok.text.lower() if tok.type == "ident" else ""

    def parse(self) -> Node:
        node = self.expr()
        if self.tok.type != "end":
            raise self.fail(f"unexpected {self.tok.text!r}")
        return node

    def expr(self) -> Node:
        items = [self.conj()]
        while self.word() == "or":
            self.advance()
            items.append(self.conj())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def conj(self) -> Node:
        items = [self.unary()]
        while True:
            if self.word() == "and":
                self.advance()
            elif self.tok.type in ("end", "rparen") or self.word() == "or":
                break
            items.append(self.unary())
        return items[0] if len(items) == 1 else And(tuple(items))

    def unary(self) -> Node:
        self.depth += 1
        if self.depth > 100:
            raise self.fail("expression nested too deeply")
        try:
            if self.tok.type == "bang" or self.word() == "not":
                self.advance()
                return Not(self.unary())
            if self.tok.type == "lparen":
                self.advance()
                node = self.expr()
                if self.tok.type != "rparen":
                    raise self.fail("expected ')'")
                self.advance()
                return node
            return self.term()
        finally:
            self.depth -= 1

    def term(self) -> Node:
        tok = self.tok
        if tok.type != "ident":
            raise self.fail(f"expected a keyword, found {tok.text or 'end of expression'!r}")
        self.advance()
        name = tok.text.lower()
        if name.startswith("annotation.") or name.startswith("annotation["):
            return self.annotation(tok)
        if name in FLAGS:
            return self.flag(name)
        if name in NUMBER_FIELDS:
            op = self.operator(NUMBER_OPS, name)
            if self.tok.type != "number":
                raise self.fail(f"{name} compares with a number")
            return Compare(name, op, float(self.advance().text))
        if name in STRING_FIELDS:
            if not self.at_operator():
                return Present(name)
            op = self.operator(STRING_OPS, name)
            if self.tok.type != "string":
                raise self.fail(f"{name} compares with a quoted string")
            return Compare(name, op, string_value(self.advance()))
        raise self.fail(f"unsupported keyword {tok.text!r}", tok)

    def at_operator(self) -> bool:
        return self.tok.type == "op" or self.word() in _STRING_OPS_WORDS

    def operator(self, allowed: frozenset[str], name: str) -> str:
        op = self.tok.text.lower()
        if not self.at_operator() or op not in allowed:
            raise self.fail(f"{name} expects one of {', '.join(sorted(allowed))}")
        self.advance()
        return op

    def flag(self, name: str) -> Node:
        node: Node = Flag(name)
        if self.tok.type == "op":
            op = self.operator(frozenset({"=", "!="}), name)
            value = self.word()
            if value not in ("true", "false"):
                raise self.fail(f"{name} compares with true or false")
            self.advance()
            if (value == "true") != (op == "="):
                node = Not(node)
        return node

    def annotation(self, tok: Token) -> Node:
        text = tok.text
        if text[10] == "[":
            key = text[11:-1] if text.endswith("]") else ""
        else:
            key = text[11:]
        if not key:
            raise self.fail("annotation needs a key", tok)
        if not self.at_operator():
            return Annotation(key)
        op = self.operator(STRING_OPS | NUMBER_OPS, "annotation")
        value: Value
        if self.tok.type == "string":
            value = string_value(self.advance())
        elif self.tok.type == "number":
            value = float(self.advance().text)
        elif self.word() in ("true", "false"):
            value = self.advance().text.lower() == "true"
        else:
            raise self.fail("annotation compares with a string, number or boolean")
        if op in _STRING_OPS_WORDS and not isinstance(value, str):
            raise self.fail(f"{op} needs a string")
        return Annotation(key, op, value)

"""Recursive-descent parser for the X-Ray filter-expression language.

Grammar (case-insensitive keywords; adjacency means AND, as the console allows):

    expr     := conj ((OR | "||") conj)*
    conj     := unary (((AND | "&&"))? unary)*
    unary    := ("!" | NOT) unary | "(" expr ")" | term
    term     := BOOL [("=" | "!=") (true | false)] | NUMBER OP number
              | STRING [STROP string] | annotation.KEY [OP value] | annotation[KEY] [OP value]
              | service "(" [selector] ")" ["{" expr "}"]
              | edge "(" selector "," selector ")" ["{" expr "}"]
              | group.name ("=" | "!=") string | group.arn ("=" | "!=") string
              | rootcause.json "=" "#[" json... "]"
              | rootcause.(fault|error|responsetime).(service|entity|exception) "{" expr "}"
    selector := string | id "(" field ":" string ("," field ":" string)* ")"   field := name | type | account.id

Each keyword is valid only in some scopes (``SCOPES``); anything else is an
error that names the keyword, where it may be used, and the position.
Groups are expanded while parsing, through a resolver callable, with cycle
detection; an unknown group is ``Const(False)``.
"""

from __future__ import annotations

from typing import Callable

from fluoro.query.filters.ast import (
    BOOL_KEYWORDS,
    NUMBER_KEYWORDS,
    NUMBER_OPS,
    ROOTCAUSE_CATEGORIES,
    ROOTCAUSE_LEVELS,
    STRING_KEYWORDS,
    STRING_OPS,
    And,
    Annotation,
    Compare,
    Const,
    Edge,
    Flag,
    Node,
    Not,
    Or,
    Present,
    RootCause,
    RootCauseJson,
    Selector,
    Service,
    Value,
)
from fluoro.query.filters.errors import FilterError
from fluoro.query.filters.tokens import Token, string_value, tokenize

MAX_LENGTH = 2000
MAX_DEPTH = 100
MAX_GROUP_DEPTH = 10
_STRING_OP_WORDS = {"contains", "beginswith", "endswith"}
_RESERVED = {"and", "or", "not", "true", "false"}

# A group resolver: ("name" | "arn", value) -> the group's filter expression, or None if unknown.
GroupResolver = Callable[[str, str], "str | None"]

_TRACE_SVC_EDGE = ("trace", "service", "edge")
_RC_ANY = tuple(f"rootcause.{c}.{lvl}" for c in ROOTCAUSE_CATEGORIES for lvl in ROOTCAUSE_LEVELS if
                not (c == "responsetime" and lvl == "exception"))  # fmt: skip
_RC_SERVICE = tuple(s for s in _RC_ANY if s.endswith(".service"))
_RC_ENTITY = tuple(s for s in _RC_ANY if s.endswith(".entity"))
_RC_EXCEPTION = tuple(s for s in _RC_ANY if s.endswith(".exception"))

# Keyword -> the scopes it is valid in.
SCOPES: dict[str, tuple[str, ...]] = {
    "ok": _TRACE_SVC_EDGE, "error": _TRACE_SVC_EDGE, "throttle": _TRACE_SVC_EDGE, "fault": _TRACE_SVC_EDGE,
    "partial": ("trace", "service"), "inferred": ("trace", "service", *_RC_SERVICE),
    "root": ("service",), "remote": (*_RC_ENTITY, *_RC_EXCEPTION),
    "first": _RC_ANY, "last": _RC_ANY, "index": _RC_ANY, "coverage": ("rootcause.responsetime.entity",),
    "responsetime": _TRACE_SVC_EDGE, "duration": _TRACE_SVC_EDGE, "http.status": _TRACE_SVC_EDGE,
    "http.url": _TRACE_SVC_EDGE, "http.method": _TRACE_SVC_EDGE, "http.useragent": _TRACE_SVC_EDGE,
    "http.clientip": _TRACE_SVC_EDGE, "user": ("trace", "service"),
    "name": ("service", *_RC_ANY), "type": ("service", *_RC_SERVICE), "message": _RC_EXCEPTION,
    "availabilityzone": ("trace", "service"), "instance.id": ("trace", "service"), "resource.arn": ("trace", "service"),
    "annotation": ("trace", "service"),
}  # fmt: skip


def _describe(scopes: tuple[str, ...]) -> str:
    names = []
    for scope in scopes:
        label = {"trace": "at trace level", "service": "inside service() { }", "edge": "inside edge() { }"}.get(
            scope, f"inside {scope} {{ }}"
        )
        names.append(label)
    return ", ".join(names)


def parse(text: str, groups: GroupResolver | None = None) -> Node | None:
    """Parse ``text``; an empty or blank expression matches everything (None)."""
    return _parse(text, groups, ())


def _parse(text: str, groups: GroupResolver | None, expanding: tuple[str, ...]) -> Node | None:
    if not isinstance(text, str):
        raise FilterError("the expression must be a string")
    if len(text) > MAX_LENGTH:
        raise FilterError(f"expression longer than {MAX_LENGTH} characters", text, MAX_LENGTH)
    if not text.strip():
        return None
    return _Parser(text, groups, expanding).parse()


class _Parser:
    def __init__(self, text: str, groups: GroupResolver | None, expanding: tuple[str, ...]) -> None:
        self.text = text
        self.groups = groups
        self.expanding = expanding
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0
        self.scope = "trace"

    # -- token helpers ---------------------------------------------------------------
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

    def found(self) -> str:
        return repr(self.tok.text) if self.tok.type != "end" else "the end of the expression"

    def expect(self, kind: str, what: str, after: Token | None = None) -> Token:
        if self.tok.type != kind:
            where = f" after {after.text!r}" if after is not None else ""
            raise self.fail(f"expected {what}{where}, found {self.found()}")
        return self.advance()

    # -- grammar ---------------------------------------------------------------------
    def parse(self) -> Node:
        node = self.expr()
        if self.tok.type != "end":
            if self.tok.type == "rparen":
                raise self.fail("unbalanced ')'")
            if self.tok.type == "rbrace":
                raise self.fail("unbalanced '}'")
            raise self.fail(f"expected AND, OR or the end of the expression, found {self.found()}")
        return node

    def expr(self) -> Node:
        items = [self.conj()]
        while self.word() == "or" or self.tok.type == "or":
            self.advance()
            items.append(self.conj())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def conj(self) -> Node:
        items = [self.unary()]
        while True:
            if self.word() == "and" or self.tok.type == "and":
                self.advance()
            elif self.tok.type in ("end", "rparen", "rbrace", "or") or self.word() == "or":
                break
            items.append(self.unary())
        return items[0] if len(items) == 1 else And(tuple(items))

    def unary(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail("expression nested too deeply")
        try:
            if self.tok.type == "bang" or self.word() == "not":
                self.advance()
                return Not(self.unary())
            if self.tok.type == "lparen":
                open_tok = self.advance()
                node = self.expr()
                if self.tok.type != "rparen":
                    raise self.fail(f"expected ')' to close the '(' at position {open_tok.pos}, found {self.found()}")
                self.advance()
                return node
            return self.term()
        finally:
            self.depth -= 1

    def term(self) -> Node:
        tok = self.tok
        if tok.type != "ident" or tok.text.lower() in _RESERVED:
            raise self.fail(f"expected a keyword, found {self.found()}")
        self.advance()
        name = tok.text.lower()
        if name.startswith("annotation.") or name.startswith("annotation["):
            self.check_scope("annotation", tok)
            return self.annotation(tok)
        if name in ("service", "edge", "rootcause.json") or name.startswith(("rootcause.", "group.")):
            if self.scope != "trace":
                raise self.fail(f"{tok.text} is only valid at trace level, not inside {self.scope_label()}", tok)
            if name == "service":
                return self.service(tok)
            if name == "edge":
                return self.edge(tok)
            if name.startswith("group."):
                return self.group(tok, name[6:])
            if name == "rootcause.json":
                return self.rootcause_json(tok)
            return self.rootcause(tok, name)
        if name == "id":
            raise self.fail("id(...) may only stand where a service name does, in service() or edge()", tok)
        if name in BOOL_KEYWORDS:
            self.check_scope(name, tok)
            return self.flag(name, tok)
        if name in NUMBER_KEYWORDS:
            self.check_scope(name, tok)
            op = self.operator(NUMBER_OPS, tok)
            if self.tok.type != "number":
                raise self.fail(f"expected a number after {op!r}, found {self.found()}")
            return Compare(name, op, float(self.advance().text))
        if name in STRING_KEYWORDS:
            self.check_scope(name, tok)
            if not self.at_operator():
                return Present(name)
            op_tok = self.tok
            op = self.operator(STRING_OPS, tok)
            return Compare(name, op, self.string_operand(op_tok))
        raise self.fail(f"unknown keyword {tok.text!r}", tok)

    def scope_label(self) -> str:
        return {"service": "service() { }", "edge": "edge() { }"}.get(self.scope, f"{self.scope} {{ }}")

    def check_scope(self, keyword: str, tok: Token) -> None:
        allowed = SCOPES[keyword]
        if self.scope not in allowed:
            here = "at trace level" if self.scope == "trace" else f"inside {self.scope_label()}"
            raise self.fail(f"{keyword} is not valid {here}; it is valid {_describe(allowed)}", tok)

    def at_operator(self) -> bool:
        return self.tok.type == "op" or self.word() in _STRING_OP_WORDS

    def operator(self, allowed: frozenset[str], keyword: Token) -> str:
        op = self.tok.text.lower()
        if not self.at_operator() or op not in allowed:
            ops = ", ".join(o.upper() if o.isalpha() else o for o in sorted(allowed))
            raise self.fail(f"expected an operator ({ops}) after {keyword.text!r}, found {self.found()}")
        self.advance()
        return op

    def string_operand(self, op_tok: Token) -> str:
        if self.tok.type == "string":
            return string_value(self.advance(), self.text)
        # The documentation itself writes `name = traces`: a bare word is taken as a string.
        if self.tok.type == "ident" and self.word() not in _RESERVED and self.word() not in _STRING_OP_WORDS:
            return self.advance().text
        raise self.fail(f"expected a quoted string after {op_tok.text!r}, found {self.found()}")

    def flag(self, name: str, tok: Token) -> Node:
        node: Node = Flag(name)
        if self.tok.type == "op":
            op_tok = self.tok
            op = self.operator(frozenset({"=", "!="}), tok)
            value = self.word()
            if value not in ("true", "false"):
                raise self.fail(f"expected true or false after {op_tok.text!r}, found {self.found()}")
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
            if "[" in key:
                key = ""
        if not key:
            raise self.fail("expected an annotation key: annotation.KEY or annotation[KEY]", tok)
        if not self.at_operator():
            return Annotation(key)
        op_tok = self.tok
        op = self.operator(STRING_OPS | NUMBER_OPS, tok)
        value: Value
        if self.tok.type == "string":
            value = string_value(self.advance(), self.text)
        elif self.tok.type == "number":
            value = float(self.advance().text)
        elif self.word() in ("true", "false"):
            value = self.advance().text.lower() == "true"
        else:
            raise self.fail(f"expected a string, number or true/false after {op_tok.text!r}, found {self.found()}")
        if op in _STRING_OP_WORDS and not isinstance(value, str):
            raise self.fail(f"{op.upper()} needs a quoted string", op_tok)
        if isinstance(value, bool) and op not in ("=", "!="):
            raise self.fail(f"a boolean annotation compares with = or !=, not {op_tok.text!r}", op_tok)
        return Annotation(key, op, value)

    # -- complex keywords ------------------------------------------------------------
    def selector(self, required: bool) -> Selector | None:
        if self.tok.type == "string":
            return Selector(name=string_value(self.advance(), self.text))
        if self.word() == "id":
            id_tok = self.advance()
            self.expect("lparen", "'('", id_tok)
            fields: dict[str, str] = {}
            while True:
                field_tok = self.tok
                field = self.word()
                if field not in ("name", "type", "account.id"):
                    raise self.fail(f"expected name:, type: or account.id: in id(), found {self.found()}")
                if field in fields:
                    raise self.fail(f"{field} given twice in id()")
                self.advance()
                self.expect("colon", "':'", field_tok)
                if self.tok.type != "string":
                    raise self.fail(f"expected a quoted string after '{field_tok.text}:', found {self.found()}")
                fields[field] = string_value(self.advance(), self.text)
                if self.tok.type == "comma":
                    self.advance()
                    continue
                break
            self.expect("rparen", "',' or ')' in id()")
            return Selector(fields.get("name"), fields.get("type"), fields.get("account.id"))
        if required:
            raise self.fail(f"expected a quoted service name or id(...), found {self.found()}")
        return None

    def body(self, scope: str, required: bool) -> Node | None:
        if self.tok.type != "lbrace":
            if required:
                raise self.fail(f"expected '{{' to open the {scope} filter, found {self.found()}")
            return None
        open_tok = self.advance()
        outer, self.scope = self.scope, scope
        try:
            if self.tok.type == "rbrace":
                raise self.fail("expected a filter inside '{ }'")
            node = self.expr()
        finally:
            self.scope = outer
        if self.tok.type != "rbrace":
            raise self.fail(f"expected '}}' to close the '{{' at position {open_tok.pos}, found {self.found()}")
        self.advance()
        return node

    def service(self, tok: Token) -> Node:
        self.expect("lparen", "'('", tok)
        selector = self.selector(required=False) or Selector()
        self.expect("rparen", "')' after the service name")
        return Service(selector, self.body("service", required=False))

    def edge(self, tok: Token) -> Node:
        self.expect("lparen", "'('", tok)
        source = self.selector(required=True)
        self.expect("comma", "',' between the two services of edge()")
        destination = self.selector(required=True)
        self.expect("rparen", "')' after the edge's services")
        assert source is not None and destination is not None
        return Edge(source, destination, self.body("edge", required=False))

    def group(self, tok: Token, kind: str) -> Node:
        if kind not in ("name", "arn"):
            raise self.fail(f"unknown keyword {tok.text!r}; groups are group.name or group.arn", tok)
        op_tok = self.tok
        op = self.operator(frozenset({"=", "!="}), tok)
        if self.tok.type != "string":
            raise self.fail(f"expected a quoted group {kind} after {op_tok.text!r}, found {self.found()}")
        value_tok = self.advance()
        value = string_value(value_tok, self.text)
        node = self.expand_group(kind, value, value_tok)
        return Not(node) if op == "!=" else node

    def expand_group(self, kind: str, value: str, tok: Token) -> Node:
        ref = f"{kind}:{value}"
        if ref in self.expanding:
            chain = " -> ".join([*(r.split(":", 1)[1] for r in self.expanding), value])
            raise self.fail(f"group {value!r} refers to itself ({chain})", tok)
        if len(self.expanding) >= MAX_GROUP_DEPTH:
            raise self.fail(f"groups nested deeper than {MAX_GROUP_DEPTH}", tok)
        expression = self.groups(kind, value) if self.groups is not None else None
        if expression is None:
            return Const(False)
        try:
            inner = _parse(expression, self.groups, (*self.expanding, ref))
        except FilterError as exc:
            reason = exc.reason
            if exc.text == expression and not reason.startswith(("in group ", "group ")):
                reason = f"in group {value!r}: {reason} (position {exc.pos} of the group's expression)"
            raise self.fail(reason, tok) from None
        return Const(True) if inner is None else inner

    def rootcause_json(self, tok: Token) -> Node:
        op_tok = self.tok
        if self.tok.type != "op" or self.tok.text != "=":
            raise self.fail(f"expected '=' after {tok.text!r}, found {self.found()}")
        self.advance()
        if self.tok.type != "json":
            raise self.fail(f"expected a JSON array #[...] after {op_tok.text!r}, found {self.found()}")
        value = self.advance().value
        assert isinstance(value, list)
        if not value or not all(isinstance(v, dict) for v in value):
            raise self.fail("rootcause.json needs a list of root-cause objects: #[{...}]", op_tok)
        return RootCauseJson(tuple(value))

    def rootcause(self, tok: Token, name: str) -> Node:
        parts = name.split(".")
        if len(parts) != 3 or parts[1] not in ROOTCAUSE_CATEGORIES or parts[2] not in ROOTCAUSE_LEVELS:
            raise self.fail(
                f"unknown keyword {tok.text!r}; expected rootcause.json or "
                "rootcause.(fault|error|responsetime).(service|entity|exception)",
                tok,
            )
        if parts[1] == "responsetime" and parts[2] == "exception":
            raise self.fail("response-time root causes have no exceptions", tok)
        body = self.body(name, required=True)
        assert body is not None
        return RootCause(parts[1], parts[2], body)

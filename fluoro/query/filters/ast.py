"""Filter-expression syntax tree shared by the parser, the evaluator and every backend compiler.

Nodes are plain frozen dataclasses; ``kind`` names the node for backend
capability checks (``fluoro.store.api.Capabilities``).  The same ``Flag`` or
``Compare`` means different things in different scopes (the trace's root
segment, a service's segment, an edge, a root-cause item); the scope is known
from the enclosing ``Service``/``Edge``/``RootCause`` node.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Union

Value = Union[str, float, bool]

BOOL_KEYWORDS = frozenset({"ok", "error", "throttle", "fault", "partial", "inferred", "first", "last", "remote", "root"})
NUMBER_KEYWORDS = frozenset({"responsetime", "duration", "http.status", "index", "coverage"})
STRING_KEYWORDS = frozenset({
    "http.url", "http.method", "http.useragent", "http.clientip", "user", "name", "type", "message",
    "availabilityzone", "instance.id", "resource.arn",
})  # fmt: skip
NUMBER_OPS = frozenset({"=", "!=", "<", "<=", ">", ">="})
STRING_OPS = frozenset({"=", "!=", "contains", "beginswith", "endswith"})
ROOTCAUSE_CATEGORIES = ("fault", "error", "responsetime")
ROOTCAUSE_LEVELS = ("service", "entity", "exception")

# Backwards-compatible names used by the store compilers.
FLAGS = BOOL_KEYWORDS
NUMBER_FIELDS = NUMBER_KEYWORDS
STRING_FIELDS = STRING_KEYWORDS


class Node:
    kind: ClassVar[str] = "node"


@dataclass(frozen=True)
class Const(Node):
    """A constant: an unknown group evaluates to false."""

    kind: ClassVar[str] = "const"
    value: bool


@dataclass(frozen=True)
class And(Node):
    kind: ClassVar[str] = "and"
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or(Node):
    kind: ClassVar[str] = "or"
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not(Node):
    kind: ClassVar[str] = "not"
    item: Node


@dataclass(frozen=True)
class Flag(Node):
    """``ok``, ``fault``, ``first``, ... true when the flag holds in the current scope."""

    kind: ClassVar[str] = "flag"
    name: str


@dataclass(frozen=True)
class Compare(Node):
    """``<field> <op> <value>`` on a number or string field of the current scope."""

    kind: ClassVar[str] = "compare"
    field: str
    op: str
    value: Value


@dataclass(frozen=True)
class Present(Node):
    """A bare string field (``http.url``) is true when the field is set."""

    kind: ClassVar[str] = "present"
    field: str


@dataclass(frozen=True)
class Annotation(Node):
    """``annotation.KEY`` alone (set) or compared with a value of any type."""

    kind: ClassVar[str] = "annotation"
    key: str
    op: str | None = None
    value: Value | None = None


@dataclass(frozen=True)
class Selector:
    """Which graph nodes a name or ``id(...)`` picks; a None field matches anything."""

    name: str | None = None
    type: str | None = None
    account_id: str | None = None


@dataclass(frozen=True)
class Service(Node):
    """``service(sel) {body}``: some segment of a matching node satisfies ``body``."""

    kind: ClassVar[str] = "service"
    selector: Selector
    body: Node | None = None


@dataclass(frozen=True)
class Edge(Node):
    """``edge(src, dst) {body}``: some call from a ``src`` node to a ``dst`` node satisfies ``body``."""

    kind: ClassVar[str] = "edge"
    source: Selector
    destination: Selector
    body: Node | None = None


@dataclass(frozen=True)
class RootCause(Node):
    """``rootcause.<category>.<level> {body}``: some root-cause item satisfies ``body``."""

    kind: ClassVar[str] = "rootcause"
    category: str
    level: str
    body: Node


@dataclass(frozen=True)
class RootCauseJson(Node):
    """``rootcause.json = #[...]``: every pattern matches one of the trace's root causes."""

    kind: ClassVar[str] = "rootcause_json"
    patterns: tuple[Any, ...]

    def __hash__(self) -> int:  # patterns hold dicts and lists
        return hash(repr(self.patterns))


def children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, (And, Or)):
        return node.items
    if isinstance(node, Not):
        return (node.item,)
    if isinstance(node, (Service, Edge)):
        return (node.body,) if node.body is not None else ()
    if isinstance(node, RootCause):
        return (node.body,)
    return ()


def walk(node: Node) -> list[Node]:
    """Every node of the tree, parents first."""
    out: list[Node] = [node]
    for child in children(node):
        out.extend(walk(child))
    return out


def feature(node: Node) -> str:
    """What a backend must support to evaluate ``node`` itself: its kind, plus the keyword for leaves."""
    if isinstance(node, Flag):
        return f"flag:{node.name}"
    if isinstance(node, (Compare, Present)):
        return f"{node.kind}:{node.field}"
    return node.kind


def split(node: Node | None, supported: frozenset[str]) -> tuple[Node | None, Node | None]:
    """(part a backend evaluates, the rest) such that node == pushed AND rest.

    Only whole conjuncts move to the backend, so no part is approximated.
    """
    if node is None:
        return None, None
    if all(feature(n) in supported for n in walk(node)):
        return node, None
    if isinstance(node, And):
        pushed = [n for n in node.items if all(feature(m) in supported for m in walk(n))]
        rest = [n for n in node.items if not any(n is p for p in pushed)]
        if "and" not in supported and len(pushed) > 1:
            return None, node
        push = None if not pushed else pushed[0] if len(pushed) == 1 else And(tuple(pushed))
        residual = rest[0] if len(rest) == 1 else And(tuple(rest))
        return push, residual
    return None, node

"""Filter-expression syntax tree shared by the parser and every backend compiler.

Nodes are plain frozen dataclasses; ``kind`` names the node for backend
capability checks (``fluoro.store.api.Capabilities``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Union

Value = Union[str, float, bool]

# Trace-level boolean keywords (root segment, except throttle/partial which
# look at every segment, as X-Ray's summary flags do).
FLAGS = frozenset({"ok", "error", "fault", "throttle", "partial", "inferred"})
NUMBER_FIELDS = frozenset({"responsetime", "duration", "http.status"})
STRING_FIELDS = frozenset({"http.url", "http.method", "http.useragent", "http.clientip", "user"})
NUMBER_OPS = frozenset({"=", "!=", "<", "<=", ">", ">="})
STRING_OPS = frozenset({"=", "!=", "contains", "beginswith", "endswith"})


class Node:
    kind: ClassVar[str] = "node"


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
    """``ok``, ``fault``, ... true when the flag holds for the trace."""

    kind: ClassVar[str] = "flag"
    name: str


@dataclass(frozen=True)
class Compare(Node):
    """``<field> <op> <value>`` on a number or string trace field."""

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


def walk(node: Node) -> list[Node]:
    """Every node of the tree, parents first."""
    out: list[Node] = [node]
    if isinstance(node, (And, Or)):
        for item in node.items:
            out.extend(walk(item))
    elif isinstance(node, Not):
        out.extend(walk(node.item))
    return out

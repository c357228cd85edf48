"""``EntitySelectorExpression`` for GetTimeSeriesServiceStatistics.

Parsed by the filter language (``fluoro.query.filters``), so names, escapes,
``id(name:, type:, account.id:)`` and error positions are the same as in
filter expressions.  The operation takes one selector alone: ``service(A)``,
``edge(A, B)`` or a bare ``id(...)`` (read as ``service(id(...))``), where A and
B are a quoted name or an ``id(...)``.
"""

from __future__ import annotations

from dataclasses import dataclass

from fluoro.query.filters import FilterError, ast, parse
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


def _match(selector: ast.Selector) -> Match:
    return Match(selector.name, selector.type, selector.account_id)


def parse_selector(text: str) -> Selector:
    if len(text) > MAX_LENGTH:
        raise SelectorError(f"the expression is longer than {MAX_LENGTH} characters")
    stripped = text.lstrip()
    bare_id = stripped[:2].lower() == "id" and stripped[2:].lstrip().startswith("(")
    prefix = "service(" if bare_id else ""
    try:
        node = parse(prefix + text + (")" if bare_id else ""))
    except FilterError as exc:
        where = f" at position {max(0, exc.pos - len(prefix))}" if exc.pos >= 0 else ""
        raise SelectorError(f"{exc.reason}{where}") from None
    if isinstance(node, ast.Service) and node.body is None:
        return Selector(_match(node.selector))
    if isinstance(node, ast.Edge) and node.body is None:
        return Selector(_match(node.destination), _match(node.source))
    raise SelectorError("expected one service(...), edge(...) or id(...) alone, with no { } body or other terms")

"""Filter expressions: text → AST (``parse``); backends compile the AST."""

from fluoro.query.filters.errors import FilterError
from fluoro.query.filters.parser import parse

__all__ = ["FilterError", "parse"]

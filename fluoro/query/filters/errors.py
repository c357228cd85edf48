"""Filter errors carry the position so the API message can point at the text."""

from __future__ import annotations


class FilterError(ValueError):
    def __init__(self, message: str, text: str = "", pos: int = -1) -> None:
        self.reason = message
        self.text = text
        self.pos = pos
        where = f" at position {pos}" if pos >= 0 else ""
        super().__init__(f"{message}{where}")

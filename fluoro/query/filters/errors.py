"""Filter errors carry the position so the API message can point at the text."""

from __future__ import annotations


class FilterError(ValueError):
    """``reason`` says what was expected; ``pos`` is the 0-based character offset in ``text``."""

    def __init__(self, message: str, text: str = "", pos: int = -1) -> None:
        self.reason = message
        self.text = text
        self.pos = pos
        where = ""
        if pos >= 0:
            where = f" at position {pos}"
            if "\n" in text[:pos]:
                line = text.count("\n", 0, pos) + 1
                column = pos - text.rfind("\n", 0, pos)
                where += f" (line {line}, column {column})"
        super().__init__(f"{message}{where}")

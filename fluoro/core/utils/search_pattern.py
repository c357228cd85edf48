"""Wildcard matching for sampling rules and dynamic naming: ``*`` any run, ``?`` one character."""

from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=512)
def _compile(pattern: str, case_insensitive: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body + r"\Z", re.DOTALL | (re.IGNORECASE if case_insensitive else 0))


def wildcard_match(pattern: str | None, text: str | None, case_insensitive: bool = True) -> bool:
    if pattern is None or text is None:
        return False
    if pattern == "*":
        return True
    if "*" not in pattern and "?" not in pattern:
        return pattern.lower() == text.lower() if case_insensitive else pattern == text
    return _compile(pattern, case_insensitive).match(text) is not None

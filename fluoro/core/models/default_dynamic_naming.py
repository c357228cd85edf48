"""Segment naming by incoming host name, with a fallback name."""

from ..utils.search_pattern import wildcard_match


class DefaultDynamicNaming:
    def __init__(self, pattern: str, fallback: str) -> None:
        self._pattern = pattern
        self._fallback = fallback

    def get_name(self, host_name: str) -> str:
        return host_name if wildcard_match(self._pattern, host_name) else self._fallback

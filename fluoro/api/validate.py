"""Request member checks against the botocore model's limits, with precise messages.

Every helper raises ``InvalidRequest`` naming the member path, so a client sees
exactly which value was refused and why.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

from fluoro.api.errors import InvalidRequest

MAX_TAGS = 50  # user tags per resource (X-Ray docs); the model allows 200 in one list
_TAG_PUNCTUATION = frozenset("_.:/=+-@ ")


def string(value: Any, path: str, *, min_len: int = 0, max_len: int | None = None, required: bool = True) -> str | None:
    if value is None:
        if required:
            raise InvalidRequest(f"{path} is required")
        return None
    if not isinstance(value, str):
        raise InvalidRequest(f"{path} must be a string")
    if len(value) < min_len:
        raise InvalidRequest(f"{path} must be at least {min_len} characters")
    if max_len is not None and len(value) > max_len:
        raise InvalidRequest(f"{path} must be at most {max_len} characters")
    return value


def integer(value: Any, path: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequest(f"{path} must be an integer")
    if minimum is not None and value < minimum:
        raise InvalidRequest(f"{path} must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise InvalidRequest(f"{path} must be at most {maximum}")
    return value


def number(value: Any, path: str, *, minimum: float, maximum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidRequest(f"{path} must be a number")
    if not minimum <= value <= maximum:
        raise InvalidRequest(f"{path} must be between {minimum:g} and {maximum:g}")
    return float(value)


def boolean(value: Any, path: str) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise InvalidRequest(f"{path} must be a boolean")
    return value


def timestamp(value: Any, path: str) -> float:
    """Epoch seconds from what SDKs send: seconds (Go, Node, Python), milliseconds (Java's
    Jackson default for ``Date``), a numeric string, or an ISO 8601 string (devguide)."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = float(text)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
            except ValueError:
                raise InvalidRequest(f"{path} must be a timestamp (epoch seconds or ISO 8601)") from None
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=timezone.utc)
            return parsed.timestamp()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise InvalidRequest(f"{path} must be a timestamp (epoch seconds)")
    # No epoch-seconds value this large is plausible before the year 5138: it is milliseconds.
    return float(value) / 1000.0 if value > 1e11 else float(value)


def no_next_token(body: dict[str, Any]) -> None:
    """Accept an absent or null NextToken (Go sends ``{"NextToken": null}``); this
    server never hands one out, so any other token cannot be ours."""
    token = body.get("NextToken")
    if token is not None and token != "":
        raise InvalidRequest("NextToken is invalid: this server returned no NextToken to continue from")


def _tag_text_ok(text: str) -> bool:
    return all(ch.isalnum() or ch in _TAG_PUNCTUATION or ch.isspace() for ch in text)


def tag_key(value: Any, path: str) -> str:
    key = string(value, path, min_len=1, max_len=128)
    assert key is not None
    if not _tag_text_ok(key):
        raise InvalidRequest(f"{path} may contain only letters, numbers, spaces and _ . : / = + - @")
    return key


def tags(value: Any, path: str = "Tags") -> dict[str, str]:
    """A ``TagList`` as a dict; ``aws:`` keys are reserved."""
    if value is None:
        return {}
    if not isinstance(value, list):
        raise InvalidRequest(f"{path} must be a list of {{Key, Value}} objects")
    if len(value) > 200:
        raise InvalidRequest(f"{path} must have at most 200 entries")
    out: dict[str, str] = {}
    for i, tag in enumerate(value):
        if not isinstance(tag, dict):
            raise InvalidRequest(f"{path}[{i}] must be an object with Key and Value")
        key = tag_key(tag.get("Key"), f"{path}[{i}].Key")
        text = string(tag.get("Value"), f"{path}[{i}].Value", max_len=256)
        assert text is not None
        if not _tag_text_ok(text):
            raise InvalidRequest(f"{path}[{i}].Value may contain only letters, numbers, spaces and _ . : / = + - @")
        if key.lower().startswith("aws:"):
            raise InvalidRequest(f"{path}[{i}].Key: the aws: prefix is reserved for AWS use")
        out[key] = text
    return out



"""Turn arbitrary metadata values into JSON-ready structures without ever raising."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

_PLAIN = (str, int, float, bool, type(None))


def metadata_to_dict(obj: object) -> object:
    try:
        return _convert(obj, 0)
    except Exception as e:  # RecursionError on cycles, odd __dict__ properties, ...
        log.warning("Failed to convert metadata to dict:\n%s", e)
        return {}


def _convert(obj: object, depth: int) -> object:
    if isinstance(obj, _PLAIN):
        return obj
    if depth > 64:
        raise RecursionError("metadata nested deeper than 64 levels")
    if isinstance(obj, dict):
        return {(k if isinstance(k, str) else str(k)): _convert(v, depth + 1) for k, v in obj.items()}
    if isinstance(obj, type):
        return str(obj)
    if hasattr(obj, "_ast"):
        return _convert(obj._ast(), depth + 1)  # type: ignore[attr-defined]
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [_convert(v, depth + 1) for v in obj]
    if isinstance(obj, (bytes, bytearray)):
        return obj.decode("utf-8", "replace")
    if hasattr(obj, "__iter__") and not hasattr(obj, "__dict__"):
        return [_convert(v, depth + 1) for v in obj]  # type: ignore[attr-defined]
    if hasattr(obj, "__dict__"):
        return {
            k: _convert(v, depth + 1)
            for k, v in vars(obj).items()
            if not k.startswith("_") and not callable(v)
        }
    return obj

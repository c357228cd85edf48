"""Stack capture for exceptions recorded by ``capture``, patchers and middlewares."""

from __future__ import annotations

import sys
import traceback


def get_stacktrace(limit: int | None = None) -> list:
    """The current stack (minus this helper and its caller) joined with the traceback
    of the exception being handled, trimmed to its last ``limit`` frames."""
    if limit is not None and limit == 0:
        return []
    stack = traceback.extract_stack()[:-2]
    exc_type, _, exc_tb = sys.exc_info()
    if exc_type is not None:
        stack = stack[:-1] + traceback.extract_tb(exc_tb)
    if limit is not None:
        stack = stack[-limit:]
    return list(stack)

"""Stack capture for exceptions recorded by ``capture``, patchers and middlewares."""

from __future__ import annotations

import sys
import traceback


def get_stacktrace(limit: int | None = None) -> list:
    """The current stack (minus this helper and its caller) joined with the traceback
    of the exception being handled, trimmed to its last ``limit`` frames."""
    return _stack(limit, handler_is_caller=False)


def stack_for(limit: int | None, handler_is_caller: bool) -> list:
    """``get_stacktrace`` for callers that caught the exception themselves.

    With ``handler_is_caller`` the caller (the ``capture`` wrapper) is the frame where
    the traceback starts, so the frame above it, the user's, is kept.
    """
    return _stack(limit, handler_is_caller)


def _stack(limit: int | None, handler_is_caller: bool) -> list:
    if limit is not None and limit == 0:
        return []
    # Without this helper, the public function that called it, and that one's caller.
    stack = traceback.extract_stack()[:-3]
    exc_type, _, exc_tb = sys.exc_info()
    if exc_type is not None:
        stack = (stack if handler_is_caller else stack[:-1]) + traceback.extract_tb(exc_tb)
    if limit is not None:
        stack = stack[-limit:]
    return list(stack)

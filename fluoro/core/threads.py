"""Thread pools that keep the trace context.

Threads start with an empty context, so work handed to a plain
``ThreadPoolExecutor`` records nothing (or orphaned subsegments). Submit through
:class:`TracedThreadPoolExecutor`, or wrap the callable with :func:`propagate`, and the
worker runs under a copy of the submitting thread's context: its subsegments become
children of whatever was current at submit time.
"""

from __future__ import annotations

import contextvars
import functools
from concurrent.futures import Future, ThreadPoolExecutor


def propagate(fn):  # type: ignore[no-untyped-def]
    """``fn`` bound to a copy of the current context, to run in any thread."""
    context = contextvars.copy_context()

    @functools.wraps(fn)
    def run(*args, **kwargs):  # type: ignore[no-untyped-def]
        return context.copy().run(fn, *args, **kwargs)

    return run


class TracedThreadPoolExecutor(ThreadPoolExecutor):
    """A ``ThreadPoolExecutor`` whose tasks run in their submitter's context."""

    def submit(self, fn, /, *args, **kwargs) -> Future:  # type: ignore[no-untyped-def,override]
        context = contextvars.copy_context()
        return super().submit(context.run, fn, *args, **kwargs)

"""The asyncio context: the same ``ContextVar`` storage, which asyncio already copies per task.

Upstream replaced the loop's task factory to copy task-local storage; ``contextvars``
make that unnecessary. The one gap left in the standard library,
``loop.run_in_executor`` (which does not copy the context into the worker thread,
upstream issue #446), is closed here by copying the caller's context.
"""

from __future__ import annotations

import contextvars
import functools

from .context import Context

_executor_patched = False


def _patch_run_in_executor() -> None:
    global _executor_patched
    if _executor_patched:
        return
    import asyncio.base_events as base_events

    original = base_events.BaseEventLoop.run_in_executor

    @functools.wraps(original)
    def run_in_executor(self, executor, func, *args):  # type: ignore[no-untyped-def]
        ctx = contextvars.copy_context()
        return original(self, executor, functools.partial(ctx.run, func), *args)

    base_events.BaseEventLoop.run_in_executor = run_in_executor  # type: ignore[method-assign]
    _executor_patched = True


class AsyncContext(Context):
    """Context for asyncio applications.

    ``loop`` and ``use_task_factory`` are accepted for compatibility; no task factory is
    installed because every task already runs in its own copy of the context.
    """

    def __init__(self, *args, loop=None, use_task_factory: bool = True, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self._loop = loop
        _patch_run_in_executor()


def task_factory(loop, coro):  # type: ignore[no-untyped-def]
    """Kept for code that installs it explicitly; tasks copy the context on their own."""
    import asyncio

    task = asyncio.Task(coro, loop=loop)
    if task._source_traceback:  # type: ignore[attr-defined]
        del task._source_traceback[-1]  # type: ignore[attr-defined]
    return task

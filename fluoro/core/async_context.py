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


class TaskLocalStorage:
    """Attributes private to the current asyncio task (upstream's public helper, kept for code using it).

    Outside a task, reads give None and writes are ignored, as upstream.
    """

    def __init__(self, loop=None) -> None:  # type: ignore[no-untyped-def]
        import weakref

        object.__setattr__(self, "_loop", loop)
        object.__setattr__(self, "_by_task", weakref.WeakKeyDictionary())

    def _task_values(self, create: bool) -> dict | None:
        import asyncio

        try:
            task = asyncio.current_task(loop=object.__getattribute__(self, "_loop"))
        except RuntimeError:
            return None
        if task is None:
            return None
        by_task = object.__getattribute__(self, "_by_task")
        values = by_task.get(task)
        if values is None and create:
            values = by_task[task] = {}
        return values

    def __setattr__(self, name: str, value: object) -> None:
        values = self._task_values(create=True)
        if values is not None:
            values[name] = value

    def __getattr__(self, name: str) -> object:
        if name.startswith("__"):
            raise AttributeError(name)
        import asyncio

        try:
            in_task = asyncio.current_task(loop=object.__getattribute__(self, "_loop")) is not None
        except RuntimeError:
            in_task = False
        if not in_task:
            return None
        values = self._task_values(create=False) or {}
        if name in values:
            return values[name]
        raise AttributeError("Task context does not have attribute %s" % name)

    def clear(self) -> None:
        values = self._task_values(create=False)
        if values is not None:
            values.clear()

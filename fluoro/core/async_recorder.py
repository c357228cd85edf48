"""The recorder with asyncio entry points: ``capture_async``, ``in_segment_async``,
``in_subsegment_async``. Coroutine functions decorated with plain ``capture`` are
awaited correctly too (upstream closed their subsegment before the coroutine ran)."""

from __future__ import annotations

from .models.segment import SegmentContextManager
from .models.subsegment import SubsegmentContextManager, is_already_recording, set_as_recording
from .recorder import AWSXRayRecorder
from .utils import stacktrace


class AsyncSegmentContextManager(SegmentContextManager):
    async def __aenter__(self):  # type: ignore[no-untyped-def]
        return self.__enter__()

    async def __aexit__(self, exc_type, exc_val, exc_tb):  # type: ignore[no-untyped-def]
        return self.__exit__(exc_type, exc_val, exc_tb)


class AsyncSubsegmentContextManager(SubsegmentContextManager):
    __slots__ = ()

    def __call__(self, wrapped):  # type: ignore[no-untyped-def]
        import functools

        if is_already_recording(wrapped):
            return wrapped
        recorder = self.recorder
        name = self.name or getattr(wrapped, "__name__", None) or "function"
        namespace = self.subsegment_kwargs.get("namespace", "local")

        @functools.wraps(wrapped)
        async def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            return await recorder.record_subsegment_async(
                wrapped, None, args, kwargs, name=name, namespace=namespace, meta_processor=None)

        set_as_recording(wrapper, wrapped)
        return wrapper

    async def __aenter__(self):  # type: ignore[no-untyped-def]
        return self.__enter__()

    async def __aexit__(self, exc_type, exc_val, exc_tb):  # type: ignore[no-untyped-def]
        return self.__exit__(exc_type, exc_val, exc_tb)


class AsyncAWSXRayRecorder(AWSXRayRecorder):
    def capture_async(self, name=None):  # type: ignore[no-untyped-def]
        return self.in_subsegment_async(name=name)

    def in_segment_async(self, name=None, **segment_kwargs):  # type: ignore[no-untyped-def]
        return AsyncSegmentContextManager(self, name=name, **segment_kwargs)

    def in_subsegment_async(self, name=None, **subsegment_kwargs):  # type: ignore[no-untyped-def]
        return AsyncSubsegmentContextManager(self, name=name, **subsegment_kwargs)

    async def record_subsegment_async(self, wrapped, instance, args, kwargs, name, namespace, meta_processor):  # type: ignore[no-untyped-def]
        subsegment = self.begin_subsegment(name, namespace)
        exception = None
        stack = None
        return_value = None
        try:
            return_value = await wrapped(*args, **kwargs)
            return return_value
        except Exception as e:
            exception = e
            stack = stacktrace.get_stacktrace(limit=self.max_trace_back)
            raise
        finally:
            if subsegment is not None:
                self._finish_recorded(subsegment, wrapped, instance, args, kwargs, return_value,
                                      exception, stack, meta_processor)

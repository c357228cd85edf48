"""boto3/botocore: every AWS call is an ``aws`` subsegment named by the service.

Also makes boto3's S3 transfer manager (``upload_file``, ``download_file``) record its
calls under the caller's segment: its worker threads run under a copy of the
submitting thread's context (upstream loses the segment there: #4, #52, #377, #452).
"""

from __future__ import annotations

import contextvars
import logging

from ...core import xray_recorder
from ..boto_utils import UNTRACED_OPERATIONS, aws_meta_processor, inject_header

log = logging.getLogger(__name__)


def patch() -> None:
    import botocore.client
    import wrapt

    if hasattr(botocore.client, "_xray_enabled"):
        return
    botocore.client._xray_enabled = True  # type: ignore[attr-defined]
    wrapt.wrap_function_wrapper("botocore.client", "BaseClient._make_api_call", _xray_traced_botocore)
    wrapt.wrap_function_wrapper("botocore.endpoint", "Endpoint.prepare_request", inject_header)
    wrapt.importer.when_imported("s3transfer.futures")(_patch_s3transfer)


def _xray_traced_botocore(wrapped, instance, args, kwargs):  # type: ignore[no-untyped-def]
    service = instance._service_model.metadata["endpointPrefix"]
    operation = args[0] if args else kwargs.get("operation_name")
    if service == "xray" and operation in UNTRACED_OPERATIONS:
        return wrapped(*args, **kwargs)
    return xray_recorder.record_subsegment(
        wrapped, instance, args, kwargs, name=service, namespace="aws", meta_processor=aws_meta_processor)


class _ContextTask:
    """An s3transfer task that runs in the context it was submitted from."""

    def __init__(self, task, context: contextvars.Context) -> None:  # type: ignore[no-untyped-def]
        self._task = task
        self._context = context

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._task, name)

    def __call__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return self._context.run(self._task, *args, **kwargs)


def _submit_in_context(wrapped, instance, args, kwargs):  # type: ignore[no-untyped-def]
    if args:
        args = (_ContextTask(args[0], contextvars.copy_context()),) + tuple(args[1:])
    elif "task" in kwargs:
        kwargs["task"] = _ContextTask(kwargs["task"], contextvars.copy_context())
    return wrapped(*args, **kwargs)


def _patch_s3transfer(module) -> None:  # type: ignore[no-untyped-def]
    import wrapt

    executor = getattr(module, "BoundedExecutor", None)
    if executor is None or getattr(executor, "_fluoro_patched", False):
        return
    wrapt.wrap_function_wrapper(module, "BoundedExecutor.submit", _submit_in_context)
    executor._fluoro_patched = True

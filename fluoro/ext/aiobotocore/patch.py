"""aiobotocore/aioboto3: every AWS call is an ``aws`` subsegment named by the service, as botocore's."""

from __future__ import annotations

from ...core import xray_recorder
from ..boto_utils import UNTRACED_OPERATIONS, aws_meta_processor, inject_header


def patch() -> None:
    import aiobotocore.client
    import wrapt

    if getattr(aiobotocore.client, "_fluoro_xray_enabled", False):
        return
    aiobotocore.client._fluoro_xray_enabled = True  # type: ignore[attr-defined]
    wrapt.wrap_function_wrapper("aiobotocore.client", "AioBaseClient._make_api_call", _xray_traced_aiobotocore)
    wrapt.wrap_function_wrapper("aiobotocore.endpoint", "AioEndpoint.prepare_request", inject_header)


async def _xray_traced_aiobotocore(wrapped, instance, args, kwargs):  # type: ignore[no-untyped-def]
    service = instance._service_model.metadata["endpointPrefix"]
    operation = args[0] if args else kwargs.get("operation_name")
    if service == "xray" and operation in UNTRACED_OPERATIONS:
        return await wrapped(*args, **kwargs)
    return await xray_recorder.record_subsegment_async(
        wrapped, instance, args, kwargs, name=service, namespace="aws", meta_processor=aws_meta_processor)

"""PynamoDB: DynamoDB requests are ``aws`` subsegments named ``dynamodb``.

PynamoDB (>= 4) sends through botocore, so ``patch(('pynamodb',))`` also patches
botocore, which records each call with the client's region and parameters; the
HTTP-level hook here then records only requests botocore's patcher did not (upstream
records both when both are patched).
"""

from __future__ import annotations

import json

from ...core import xray_recorder
from ...core.models import http
from ..boto_utils import extract_params
from ..util import has_trace_entity, unwrap


def patch() -> None:
    import botocore.httpsession
    import wrapt

    if getattr(botocore.httpsession, "_fluoro_xray_pynamodb", False):
        return
    botocore.httpsession._fluoro_xray_pynamodb = True  # type: ignore[attr-defined]
    wrapt.wrap_function_wrapper("botocore.httpsession", "URLLib3Session.send", _xray_traced_pynamodb)


def unpatch() -> None:
    import botocore.httpsession

    from ...core.patcher import _PATCHED_MODULES

    _PATCHED_MODULES.discard("pynamodb")
    unwrap(botocore.httpsession.URLLib3Session, "send")
    botocore.httpsession._fluoro_xray_pynamodb = False  # type: ignore[attr-defined]


def _target(request) -> str | None:  # type: ignore[no-untyped-def]
    value = request.headers.get("X-Amz-Target") if request is not None else None
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _already_recorded() -> bool:
    """Inside botocore's own ``dynamodb`` subsegment for this call?"""
    try:
        current = xray_recorder.get_trace_entity() if xray_recorder.is_sampled() else None
    except Exception:
        return False
    return getattr(current, "namespace", None) == "aws" and getattr(current, "name", None) == "dynamodb"


def _xray_traced_pynamodb(wrapped, instance, args, kwargs):  # type: ignore[no-untyped-def]
    request = args[0] if args else kwargs.get("request")
    target = _target(request)
    if (not target or target.split("_")[0].lower() != "dynamodb" or not has_trace_entity()
            or _already_recorded()):
        return wrapped(*args, **kwargs)
    return xray_recorder.record_subsegment(wrapped, instance, args, kwargs, name="dynamodb", namespace="aws",
                                           meta_processor=pynamodb_meta_processor)


def pynamodb_meta_processor(wrapped, instance, args, kwargs, return_value, exception, subsegment, stack):  # type: ignore[no-untyped-def]
    request = args[0] if args else kwargs.get("request")
    operation = (_target(request) or "").partition(".")[2]
    host = request.url.split("//", 1)[-1].split("/", 1)[0]
    parts = host.split(".")
    aws_meta: dict = {"operation": operation, "region": parts[1] if len(parts) > 2 else None}
    response = None
    if return_value is not None:
        aws_meta["request_id"] = return_value.headers.get("x-amzn-RequestId")
        subsegment.put_http_meta(http.STATUS, return_value.status_code)
        try:
            response = json.loads(return_value.text)
        except ValueError:
            response = None
    if exception is not None:
        subsegment.add_error_flag()
        subsegment.add_exception(exception, stack, True)
    try:
        params = json.loads(request.body.decode("utf-8") if isinstance(request.body, bytes) else request.body)
    except (TypeError, ValueError):
        params = {}
    aws_meta.update(extract_params("dynamodb", operation, params, response))
    subsegment.set_aws(aws_meta)

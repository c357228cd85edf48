"""What an AWS call records: operation, region, request ids, status, whitelisted parameters.

Shared by the botocore and aiobotocore patchers. The parameter whitelist is data
(``resources/aws_para_whitelist.json``); S3 uses one rule for every operation (its
``Bucket``, ``Key``, ``VersionId`` and ``Prefix``), which covers upstream's 70 listed
operations and any added since.
"""

from __future__ import annotations

import json
import logging
import pkgutil

from ..core import xray_recorder
from ..core.models import http
from .util import inject_trace_header, to_snake_case

log = logging.getLogger(__name__)

#: X-Ray's own calls are never traced (they would trace the tracer).
UNTRACED_OPERATIONS = frozenset(("GetSamplingRules", "GetSamplingTargets", "PutTraceSegments"))

#: Error codes AWS services use for throttling (the set botocore's retry logic treats as
#: throttles); most come with HTTP 400, some with 429 or 503.
THROTTLING_ERROR_CODES = frozenset((
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
    "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled",
    "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException",
))

_whitelist: dict | None = None


def whitelist() -> dict:
    global _whitelist
    if _whitelist is None:
        raw = pkgutil.get_data("fluoro.ext", "resources/aws_para_whitelist.json") or b"{}"
        _whitelist = json.loads(raw)
    return _whitelist


def inject_header(wrapped, instance, args, kwargs):  # type: ignore[no-untyped-def]
    """``Endpoint.prepare_request``: add the trace header of the call's subsegment."""
    request = args[0] if args else kwargs.get("request_dict")
    headers = getattr(request, "headers", None)
    if headers is None and isinstance(request, dict):
        headers = request.get("headers")
    if headers is not None:
        try:
            entity = xray_recorder.current_subsegment()
        except Exception:  # context_missing=RUNTIME_ERROR already raised for the call itself
            entity = None
        if entity is not None:
            inject_trace_header(headers, entity)
    return wrapped(*args, **kwargs)


def aws_meta_processor(wrapped, instance, args, kwargs, return_value, exception, subsegment, stack):  # type: ignore[no-untyped-def]
    operation = args[0] if args else kwargs.get("operation_name")
    params = args[1] if len(args) > 1 else kwargs.get("api_params") or {}
    aws_meta: dict = {"operation": operation, "region": instance.meta.region_name}
    response = None
    if return_value:
        response = return_value
        _response_metadata(return_value.get("ResponseMetadata"), aws_meta, subsegment)
    if exception is not None:
        error_response = getattr(exception, "response", None)
        if isinstance(error_response, dict):
            # A ClientError: the service answered with an error.
            _response_metadata(error_response.get("ResponseMetadata"), aws_meta, subsegment)
            subsegment.add_exception(exception, stack, True)
            _client_error_flags(subsegment, error_response)
        else:
            # No answer at all (connection refused, timeout...). Upstream records nothing
            # here; a failed call is a fault of this service and is recorded as one.
            subsegment.add_exception(exception, stack)
    aws_meta.update(extract_params(subsegment.name, operation, params, response))
    subsegment.set_aws(aws_meta)


def _client_error_flags(subsegment, error_response: dict) -> None:  # type: ignore[no-untyped-def]
    """A 4xx answer is the caller's error, not a fault; a throttling code is a throttle.

    Upstream marks every ClientError a fault (add_exception) and never sets throttle for
    AWS's throttling errors, most of which are HTTP 400 (DynamoDB's
    ProvisionedThroughputExceededException), so X-Ray's map showed throttles as faults.
    """
    meta = error_response.get("ResponseMetadata") or {}
    status = meta.get("HTTPStatusCode") if isinstance(meta, dict) else None
    error = error_response.get("Error") or {}
    code = error.get("Code") if isinstance(error, dict) else None
    if code in THROTTLING_ERROR_CODES:
        subsegment.add_throttle_flag()
        subsegment.add_error_flag()
        subsegment.fault = False
    elif isinstance(status, int) and 400 <= status < 500:
        subsegment.add_error_flag()
        subsegment.fault = False


def _response_metadata(meta, aws_meta: dict, subsegment) -> None:  # type: ignore[no-untyped-def]
    if not meta:
        return
    if meta.get("RequestId"):
        aws_meta["request_id"] = meta["RequestId"]
    headers = meta.get("HTTPHeaders") or {}
    if "x-amz-id-2" in headers:
        aws_meta["id_2"] = headers["x-amz-id-2"]
    if not aws_meta.get("request_id") and "x-amz-request-id" in headers:
        aws_meta["request_id"] = headers["x-amz-request-id"]
    status = meta.get("HTTPStatusCode")
    if status:
        subsegment.put_http_meta(http.STATUS, status)


def extract_params(service: str, operation: str, params: dict, response: dict | None) -> dict:
    services = whitelist().get("services", {})
    rules = services.get(service)
    if not rules:
        return {}
    out: dict = {}
    for rule in (rules.get("any_operation"), rules.get("operations", {}).get(operation)):
        if not rule:
            continue
        _apply(params, rule.get("request_parameters"), rule.get("request_descriptors"), out)
        if response:
            _apply(response, rule.get("response_parameters"), rule.get("response_descriptors"), out)
    return out


def _apply(source: dict, parameters, descriptors, out: dict) -> None:  # type: ignore[no-untyped-def]
    if not isinstance(source, dict):
        return
    for name in parameters or ():
        if name in source:
            out[to_snake_case(name)] = source[name]
    for name, descriptor in (descriptors or {}).items():
        if name not in source:
            continue
        value = source[name]
        if descriptor.get("get_keys") and isinstance(value, dict):
            value = list(value.keys())
        elif descriptor.get("get_count"):
            value = len(value) if hasattr(value, "__len__") else value
        out[descriptor.get("rename_to") or to_snake_case(name)] = value

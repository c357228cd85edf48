"""``XRayMiddleware``: each Django request is a segment (a subsegment inside Lambda)."""

from __future__ import annotations

from typing import Any

from ...core import xray_recorder
from .._http_entry import TracedRequest, exception_stack, in_lambda
from . import conf

USER_AGENT_KEY = "HTTP_USER_AGENT"
X_FORWARDED_KEY = "HTTP_X_FORWARDED_FOR"
REMOTE_ADDR_KEY = "REMOTE_ADDR"
HOST_KEY = "HTTP_HOST"
CONTENT_LENGTH_KEY = "content-length"
_REQUEST_ATTR = "_fluoro_xray_request"
_EXCEPTION_ATTR = "_fluoro_xray_exception"


class XRayMiddleware:
    """New-style middleware; put it first in ``MIDDLEWARE`` so the segment covers the others."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response
        self.in_lambda_ctx = in_lambda(xray_recorder)

    def _urls_as_annotation(self) -> bool:
        mode = conf.settings.URLS_AS_ANNOTATION
        return mode == "ALL" or (mode == "LAMBDA" and self.in_lambda_ctx)

    def __call__(self, request: Any) -> Any:
        meta = request.META
        forwarded = meta.get(X_FORWARDED_KEY)
        traced = TracedRequest.begin(
            xray_recorder, meta, host=meta.get(HOST_KEY), method=request.method, path=request.path,
            url=request.build_absolute_uri(), user_agent=meta.get(USER_AGENT_KEY),
            client_ip=forwarded or meta.get(REMOTE_ADDR_KEY), forwarded=bool(forwarded),
            lambda_mode=self.in_lambda_ctx, annotate=self._urls_as_annotation())
        if traced is None:
            return self.get_response(request)
        setattr(request, _REQUEST_ATTR, traced)
        deferred = False
        try:
            response = self.get_response(request)
            pending = getattr(request, _EXCEPTION_ATTR, None)
            if pending is not None and response.status_code >= 500:
                traced.fault(pending[0], None, pending[1])
            traced.response(response.status_code,
                            response[CONTENT_LENGTH_KEY] if response.has_header(CONTENT_LENGTH_KEY) else None)
            header = traced.response_header()
            if header:
                response["X-Amzn-Trace-Id"] = header
            closers = getattr(response, "_resource_closers", None)
            if getattr(response, "streaming", False) and isinstance(closers, list):
                # A streamed body is produced after this returns: end when the server closes
                # the response, so the queries made while streaming are in the segment.
                closers.append(traced.end)
                deferred = True
            return response
        finally:
            if not deferred:
                traced.end()

    def process_exception(self, request: Any, exception: BaseException) -> None:
        """A view raised: keep the exception and its stack. It is recorded as a fault if Django
        answers 5xx; ``Http404``, ``PermissionDenied`` and the like become 4xx responses,
        which are errors, not faults (upstream recorded every one as a fault)."""
        if getattr(request, _REQUEST_ATTR, None) is not None:
            setattr(request, _EXCEPTION_ATTR, (exception, exception_stack(exception, xray_recorder.max_trace_back)))

"""X-Ray errors in the rest-json form botocore parses.

botocore takes the code from the ``x-amzn-errortype`` header and the message
from the body's ``message``; ``__type`` is sent too for other clients.  Every
client mistake maps to a 4xx with a precise message; only our own failures
are 5xx.

    ApiError
    ├── InvalidRequest       400 InvalidRequestException
    ├── RuleLimitExceeded    400 RuleLimitExceededException
    ├── ResourceNotFound     404 ResourceNotFoundException (+ ResourceName)
    ├── TooManyTags          400 TooManyTagsException (+ ResourceName)
    ├── Throttled            429 ThrottledException
    ├── NotImplementedOp     501 NotImplementedException
    ├── UnknownOperation     404 UnknownOperationException
    ├── PayloadTooLarge      413 RequestEntityTooLargeException
    └── InternalFailure      500 InternalFailure
"""

from __future__ import annotations

import json

from starlette.responses import Response


class ApiError(Exception):
    code = "InternalFailure"
    status = 500

    def __init__(self, message: str, **members: str) -> None:
        super().__init__(message)
        self.message = message
        # Extra modelled members of the exception shape (e.g. ResourceName).
        self.members = members

    def response(self) -> Response:
        body = json.dumps({"__type": self.code, "message": self.message, **self.members})
        return Response(
            body,
            status_code=self.status,
            media_type="application/x-amz-json-1.1",
            headers={"x-amzn-errortype": self.code},
        )


class InvalidRequest(ApiError):
    code = "InvalidRequestException"
    status = 400


class RuleLimitExceeded(ApiError):
    code = "RuleLimitExceededException"
    status = 400


class ResourceNotFound(ApiError):
    code = "ResourceNotFoundException"
    status = 404


class TooManyTags(ApiError):
    code = "TooManyTagsException"
    status = 400


class Throttled(ApiError):
    code = "ThrottledException"
    status = 429


class ServiceUnavailable(ApiError):
    """The trace store cannot be reached (a ClickHouse outage); botocore retries 503s."""

    code = "ServiceUnavailableException"
    status = 503


class NotImplementedOp(ApiError):
    code = "NotImplementedException"
    status = 501


class UnknownOperation(ApiError):
    code = "UnknownOperationException"
    status = 404


class PayloadTooLarge(ApiError):
    code = "RequestEntityTooLargeException"
    status = 413


class InternalFailure(ApiError):
    code = "InternalFailure"
    status = 500

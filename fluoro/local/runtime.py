"""The worker process that runs one Lambda function, as the Lambda Python runtime does:
the handler module is imported on the first invocation (the cold start) and kept warm,
``_X_AMZN_TRACE_ID`` is set per invocation, and logging goes out in Lambda's format.

Requests arrive as JSON lines on stdin; answers go as JSON lines to the file
descriptor named by ``FLUORO_RESPONSE_FD``, so the handler may print freely.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
import time
import traceback
from typing import Any, Callable


class LambdaContext:
    """The ``context`` argument a Python handler receives."""

    def __init__(self, request_id: str, deadline: float) -> None:
        self.aws_request_id = request_id
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.invoked_function_arn = os.environ.get("FLUORO_FUNCTION_ARN", "")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


class _RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


def _install_logging() -> _RequestIdFilter:
    """Lambda's root handler: ``[LEVEL]\\t<time>\\t<request id>\\t<message>``."""
    request_filter = _RequestIdFilter()
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
                                           "%Y-%m-%dT%H:%M:%S"))
    handler.addFilter(request_filter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    return request_filter


def _error_shape(exc: BaseException) -> dict[str, Any]:
    return {"errorMessage": str(exc), "errorType": type(exc).__name__,
            "stackTrace": traceback.format_tb(exc.__traceback__)}


def _load_handler(spec: str) -> Callable[..., Any]:
    module_name, _, function_name = spec.rpartition(".")
    module = importlib.import_module(module_name)
    handler = getattr(module, function_name, None)
    if not callable(handler):
        raise AttributeError("Handler '%s' missing on module '%s'" % (function_name, module_name))
    return handler  # type: ignore[no-any-return]


def main() -> int:
    out = os.fdopen(int(os.environ.pop("FLUORO_RESPONSE_FD")), "w", buffering=1)
    task_root = os.environ["LAMBDA_TASK_ROOT"]
    sys.path.insert(0, task_root)
    os.chdir(task_root)
    request_filter = _install_logging()
    handler: Callable[..., Any] | None = None
    for line in sys.stdin:
        request = json.loads(line)
        request_filter.request_id = request["request_id"]
        answer: dict[str, Any] = {}
        os.environ["_X_AMZN_TRACE_ID"] = request["trace_header"]
        os.environ["AWS_REQUEST_ID"] = request["request_id"]
        if handler is None:
            answer["init_start"] = time.time()
            try:
                handler = _load_handler(os.environ["_HANDLER"])
            except Exception as exc:  # the runtime's Runtime.ImportModuleError
                answer.update(init_end=time.time(), invoke_start=time.time(), invoke_end=time.time(),
                              error={**_error_shape(exc), "errorType": "Runtime.ImportModuleError"})
                print("[ERROR] Runtime.ImportModuleError: %s" % exc, flush=True)
                out.write(json.dumps(answer) + "\n")
                continue
            answer["init_end"] = time.time()
            # The invoke's timeout starts after initialization, as on Lambda.
            out.write(json.dumps({"phase": "initialized", **answer}) + "\n")
        answer["invoke_start"] = time.time()
        context = LambdaContext(request["request_id"], answer["invoke_start"] + request["timeout"])
        try:
            result = handler(request["event"], context)
            try:
                answer["result"] = json.dumps(result)
            except (TypeError, ValueError) as exc:
                answer["error"] = {"errorMessage": "Unable to marshal response: %s" % exc,
                                   "errorType": "Runtime.MarshalError", "stackTrace": []}
        except Exception as exc:
            answer["error"] = _error_shape(exc)
            print("[ERROR] %s: %s" % (type(exc).__name__, exc), flush=True)
        answer["invoke_end"] = time.time()
        sys.stdout.flush()
        out.write(json.dumps(answer) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

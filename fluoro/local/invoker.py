"""The Lambda service for one function: a warm worker process, the Lambda environment,
the timeout, and the ``AWS::Lambda`` / ``AWS::Lambda::Function`` segments.

One worker per function, started on the first call (a cold start) and kept warm; a
timed-out worker is killed, so the next call starts cold again, as on Lambda.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import select
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import IO, Any

from fluoro.local.segments import (
    InvocationTiming,
    SegmentSender,
    TraceHeader,
    lambda_segments,
    new_id,
    new_trace_id,
)
from fluoro.local.template import ACCOUNT_ID, FunctionDef

log = logging.getLogger("fluoro.local")

# Passed from the host so the worker's interpreter finds its packages; everything else
# in the worker's environment is what Lambda sets.
INIT_TIMEOUT = 10.0  # Lambda's limit for an on-demand function's initialization
_HOST_VARIABLES = ("PATH", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV", "PYTHONPATH", "HOME", "SYSTEMROOT")


@dataclass
class InvokeResult:
    request_id: str
    payload: Any = None  # the handler's return value, JSON-decoded
    error: dict[str, Any] | None = None  # Lambda's error shape
    timed_out: bool = False
    cold_start: bool = False
    trace_header: str = ""
    timing: InvocationTiming | None = None


@dataclass
class LambdaRuntimeSettings:
    region: str
    endpoint_url: str | None
    daemon_address: str
    tracing_override: str | None = None  # "Active" / "PassThrough" for every function
    sdk_enabled: bool = True
    extra_env: dict[str, str] = field(default_factory=dict)


def function_arn(function: FunctionDef, settings: LambdaRuntimeSettings) -> str:
    return "arn:aws:lambda:%s:%s:function:%s" % (settings.region, ACCOUNT_ID, function.name)


class FunctionWorker:
    """Runs one function's invocations, one at a time, in a child process."""

    def __init__(self, function: FunctionDef, settings: LambdaRuntimeSettings, sender: SegmentSender | None,
                 logs: collections.deque[str] | None = None) -> None:
        self.function = function
        self.settings = settings
        self.sender = sender
        self.arn = function_arn(function, settings)
        self.logs: collections.deque[str] = logs if logs is not None else collections.deque(maxlen=500)
        self._proc: subprocess.Popen[bytes] | None = None
        self._answers: IO[bytes] | None = None
        self._pending = b""
        self._lock = threading.Lock()

    @property
    def tracing(self) -> str:
        return self.settings.tracing_override or self.function.tracing

    def environment(self) -> dict[str, str]:
        settings, function = self.settings, self.function
        env = {k: os.environ[k] for k in _HOST_VARIABLES if k in os.environ}
        version = function.runtime.replace("python", "")
        env.update({
            "LAMBDA_TASK_ROOT": str(function.code_dir),
            "LAMBDA_RUNTIME_DIR": os.path.dirname(sys.executable),
            "_HANDLER": function.handler,
            "AWS_EXECUTION_ENV": "AWS_Lambda_python%s" % version,
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/" + function.name,
            "AWS_LAMBDA_LOG_STREAM_NAME": time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "FLUORO_FUNCTION_ARN": self.arn,
            "AWS_REGION": settings.region,
            "AWS_DEFAULT_REGION": settings.region,
            "AWS_ACCESS_KEY_ID": "fluorolocal",
            "AWS_SECRET_ACCESS_KEY": "fluorolocal",
            "AWS_SESSION_TOKEN": "fluorolocal",
            "AWS_XRAY_DAEMON_ADDRESS": settings.daemon_address,
            "_AWS_XRAY_DAEMON_ADDRESS": settings.daemon_address.rpartition(":")[0],
            "_AWS_XRAY_DAEMON_PORT": settings.daemon_address.rpartition(":")[2],
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
            "TZ": ":UTC",
            "PYTHONUNBUFFERED": "1",
        })
        if settings.endpoint_url:
            env["AWS_ENDPOINT_URL"] = settings.endpoint_url
        if not settings.sdk_enabled:
            env["AWS_XRAY_SDK_ENABLED"] = "false"
        env.update(function.environment)
        env.update(settings.extra_env)
        return env

    def _start(self) -> None:
        read_fd, write_fd = os.pipe()
        env = self.environment()
        env["FLUORO_RESPONSE_FD"] = str(write_fd)
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "fluoro.local.runtime"], env=env, cwd=str(self.function.code_dir),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, pass_fds=(write_fd,))
        os.close(write_fd)
        self._answers = os.fdopen(read_fd, "rb", buffering=0)
        self._pending = b""
        threading.Thread(target=self._pump_logs, args=(self._proc,), daemon=True,
                         name="fluoro-local-log-%s" % self.function.logical_id).start()

    def _pump_logs(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.logs.append(line)
            log.info("[%s] %s", self.function.name, line)

    def stop(self) -> None:
        with self._lock:
            self._kill()

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            for stream in (self._proc.stdin,):
                if stream:
                    stream.close()
            self._proc = None
        if self._answers is not None:
            self._answers.close()
            self._answers = None

    def _read_line(self, deadline: float) -> bytes | None:
        """One answer line from the worker, or None at the deadline or if the worker died.
        Reads the descriptor directly: a buffered reader would hide lines from select()."""
        assert self._answers is not None
        fd = self._answers.fileno()
        while b"\n" not in self._pending:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.time()))
            if not ready:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                return None
            self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        return line

    def _trace(self, upstream: TraceHeader | None) -> tuple[TraceHeader | None, TraceHeader]:
        """(the service's own header when Lambda records segments, the function's header).

        PassThrough records no Lambda segments, even under a sampled caller: that is what
        the article observed with API Gateway tracing on and Lambda tracing off (only the
        Lambda node API Gateway's Invoke subsegment implies). AWS documents PassThrough as
        "only traces the request if it contains a tracing header with sampled=1", which
        concerns the header handed to the function; that header is passed on here.
        """
        if self.tracing == "Active" and (upstream is None or upstream.sampled != "0"):
            root = upstream.root if upstream and upstream.root else new_trace_id()
            parent = upstream.parent if upstream and upstream.root else None
            return TraceHeader(root, parent, "1"), TraceHeader(root, new_id(), "1")
        # PassThrough: the service records nothing and hands the caller's header on.
        if upstream is not None and upstream.root:
            return None, upstream
        return None, TraceHeader(new_trace_id(), None, "0")

    def invoke(self, event: dict[str, Any], upstream: TraceHeader | None = None) -> InvokeResult:
        with self._lock:
            return self._invoke(event, upstream)

    def _invoke(self, event: dict[str, Any], upstream: TraceHeader | None) -> InvokeResult:
        received = time.time()
        request_id = str(uuid.uuid4())
        service_header, function_header = self._trace(upstream)
        cold = self._proc is None or self._proc.poll() is not None
        if cold:
            self._kill()
            self._start()
        assert self._proc is not None and self._proc.stdin is not None and self._answers is not None
        timeout = self.function.timeout
        # A cold start may initialize for up to INIT_TIMEOUT before the invoke's own timeout starts.
        deadline = received + timeout + (INIT_TIMEOUT if cold else 0.0)
        request = {"event": event, "trace_header": function_header.to_header(), "request_id": request_id,
                   "timeout": timeout}
        result = InvokeResult(request_id=request_id, cold_start=cold, trace_header=function_header.to_header())
        answer: dict[str, Any] | None = None
        init: dict[str, Any] = {}
        try:
            self._proc.stdin.write((json.dumps(request) + "\n").encode())
            self._proc.stdin.flush()
            while answer is None:
                line = self._read_line(deadline)
                if line is None:
                    break
                message = json.loads(line)
                if message.get("phase") == "initialized":
                    init = message
                    deadline = time.time() + timeout
                else:
                    answer = message
        except (OSError, ValueError):
            answer = None
        now = time.time()
        if answer is None:
            timed_out = now >= deadline - 0.001
            self.logs.append("%s Task timed out after %.2f seconds" % (request_id, self.function.timeout)
                             if timed_out else "%s Runtime exited without providing a reason" % request_id)
            self._kill()
            result.timed_out = timed_out
            result.error = {"errorMessage": "%s Task timed out after %.2f seconds" % (request_id, self.function.timeout),
                            "errorType": "Sandbox.Timedout"} if timed_out else \
                {"errorMessage": "Runtime exited without providing a reason", "errorType": "Runtime.ExitError"}
            timing = InvocationTiming(received=received, init_start=init.get("init_start"),
                                      init_end=init.get("init_end"),
                                      invoke_start=init.get("init_end", received) + 0.0001, invoke_end=now, done=now, timed_out=timed_out,
                                      error=result.error)
        else:
            if "error" in answer:
                result.error = answer["error"]
            else:
                result.payload = json.loads(answer["result"])
            done = time.time()
            timing = InvocationTiming(received=received, init_start=answer.get("init_start"),
                                      init_end=answer.get("init_end"), invoke_start=answer["invoke_start"],
                                      invoke_end=answer["invoke_end"], done=max(done, answer["invoke_end"] + 0.0002),
                                      error=result.error)
        result.timing = timing
        if service_header is not None and self.sender is not None:
            assert service_header.root is not None and function_header.parent is not None
            for doc in lambda_segments(trace_id=service_header.root, parent_id=service_header.parent,
                                       service_id=new_id(), function_id=new_id(),
                                       invocation_id=function_header.parent, function_name=self.function.name,
                                       function_arn=self.arn, account_id=ACCOUNT_ID, request_id=request_id,
                                       timing=timing):
                self.sender.send(doc)
        return result


class FunctionPool:
    """A function's execution environments: concurrent requests each get a worker, a new one
    (a cold start) when none is idle, as Lambda scales out; idle workers stay warm."""

    def __init__(self, function: FunctionDef, settings: LambdaRuntimeSettings, sender: SegmentSender | None,
                 max_concurrency: int = 10) -> None:
        self.function = function
        self.settings = settings
        self.sender = sender
        self.arn = function_arn(function, settings)
        self.logs: collections.deque[str] = collections.deque(maxlen=1000)
        self._idle: list[FunctionWorker] = []
        self._all: list[FunctionWorker] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_concurrency)

    @property
    def tracing(self) -> str:
        return self.settings.tracing_override or self.function.tracing

    def invoke(self, event: dict[str, Any], upstream: TraceHeader | None = None) -> InvokeResult:
        with self._slots:
            with self._lock:
                if self._idle:
                    worker = self._idle.pop()
                else:
                    worker = FunctionWorker(self.function, self.settings, self.sender, self.logs)
                    self._all.append(worker)
            try:
                return worker.invoke(event, upstream)
            finally:
                with self._lock:
                    self._idle.append(worker)

    def stop(self) -> None:
        with self._lock:
            workers, self._all, self._idle = self._all, [], []
        for worker in workers:
            worker.stop()

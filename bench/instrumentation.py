"""Latency each SDK's instrumentation adds to a traced library call, measured in one run.

requests (``GET``), sqlite3 (``select 1`` in memory) and botocore (DynamoDB
``ListTables``): the median microseconds per call with no instrumentation, then with
fluoro's ``patch``, aws-xray-sdk 2.15's ``patch`` and OpenTelemetry's instrumentors,
each in its own process (patching is process-wide), in interleaved rounds. Calls run
under a segment/root span, 20 per segment, documents dropped by a null
emitter/exporter. The goal: fluoro adds at most half of what aws-xray-sdk adds.

The HTTP endpoint answers in-process: requests through a transport adapter, botocore
through a ``before-send`` handler (after signing and header injection), so every SDK's
hooks run in full but loopback-network jitter on a shared machine (hundreds of µs)
does not drown the tens of µs being measured, and the process's CPU time is measured
(wall time on a busy shared machine swings by more than the overhead). ``--network``
uses a real local HTTP server and wall time instead.
Run alone: ``.venv/bin/python bench/instrumentation.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _common import machine  # noqa: E402

SDKS = ("none", "fluoro", "aws-xray-sdk", "opentelemetry")
LIBRARIES = ("requests", "sqlite3", "botocore")
PER_SEGMENT = 20


class _Handler(BaseHTTPRequestHandler):
    """Answers every GET with a small body and every POST like DynamoDB's ListTables."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    wbufsize = 1 << 16  # headers and body in one write (flushed after each request)

    def do_GET(self) -> None:  # noqa: N802
        self._send(b"ok", "text/plain")

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._send(b'{"TableNames": []}', "application/x-amz-json-1.0")

    def _send(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", "bench")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
        pass


class _NullEmitter:
    def send_entity(self, entity) -> None:  # type: ignore[no-untyped-def]
        pass

    def set_daemon_address(self, address) -> None:  # type: ignore[no-untyped-def]
        pass


def _instrument(sdk: str):  # type: ignore[no-untyped-def]
    """Patch the three libraries with ``sdk``; returns a context-manager factory for one segment."""
    import contextlib

    if sdk == "none":
        return contextlib.nullcontext
    if sdk in ("fluoro", "aws-xray-sdk"):
        if sdk == "fluoro":
            from fluoro.core import patch, xray_recorder
            from fluoro.core.context import Context
        else:
            from aws_xray_sdk.core import patch, xray_recorder
            from aws_xray_sdk.core.context import Context
        xray_recorder.configure(emitter=_NullEmitter(), sampling=False, context=Context(), service="bench")
        patch(("requests", "sqlite3", "botocore"))
        return lambda: xray_recorder.in_segment("bench")
    from opentelemetry import trace
    from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor
    from opentelemetry.instrumentation.sqlite3 import SQLite3Instrumentor
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    class NullExporter(SpanExporter):
        def export(self, spans):  # type: ignore[no-untyped-def]
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(NullExporter()))
    trace.set_tracer_provider(provider)
    RequestsInstrumentor().instrument()
    SQLite3Instrumentor().instrument()
    BotocoreInstrumentor().instrument()
    tracer = trace.get_tracer("bench")
    return lambda: tracer.start_as_current_span("bench")


def _in_process_endpoints(http, dynamodb) -> None:  # type: ignore[no-untyped-def]
    """Answer requests and botocore without a network round trip."""
    import requests
    from botocore.awsrequest import AWSResponse

    class CannedAdapter(requests.adapters.HTTPAdapter):
        def send(self, request, **kwargs):  # type: ignore[no-untyped-def]
            response = requests.Response()
            response.status_code = 200
            response._content = b"ok"
            response.headers["Content-Type"] = "text/plain"
            response.url = request.url
            response.request = request
            return response

    class Raw:
        def __init__(self, body: bytes) -> None:
            self.body = body

        def stream(self, **kwargs):  # type: ignore[no-untyped-def]
            yield self.body

    def answer(request, **kwargs):  # type: ignore[no-untyped-def]
        return AWSResponse(request.url, 200, {"x-amzn-RequestId": "bench",
                                              "Content-Type": "application/x-amz-json-1.0"},
                           Raw(b'{"TableNames": []}'))

    http.mount("http://", CannedAdapter())
    dynamodb.meta.events.register("before-send.dynamodb.*", answer)


def _worker(sdk: str, url: str, n: int, repeats: int, network: bool) -> dict:
    segment = _instrument(sdk)
    import sqlite3

    import boto3
    import requests

    http = requests.Session()
    cursor = sqlite3.connect(":memory:").cursor()  # the cursor API: every SDK traces it
    dynamodb = boto3.client("dynamodb", endpoint_url=url, region_name="us-east-1",
                            aws_access_key_id="bench", aws_secret_access_key="bench")
    if not network:
        _in_process_endpoints(http, dynamodb)
    calls = {
        "requests": lambda: http.get(url + "/item"),
        "sqlite3": lambda: cursor.execute("select 1"),
        "botocore": lambda: dynamodb.list_tables(),
    }
    counts = {"requests": n // 4, "sqlite3": n, "botocore": n // 10}
    # CPU time of this process: with the endpoints in-process a call never waits, and CPU
    # time is not inflated when other processes share the machine (wall time is, a lot).
    clock = time.perf_counter_ns if network else time.process_time_ns
    out = {}
    for library, call in calls.items():
        count = max(counts[library] // PER_SEGMENT * PER_SEGMENT, PER_SEGMENT)

        def run(count: int = count, call=call) -> None:  # type: ignore[no-untyped-def]
            for _ in range(count // PER_SEGMENT):
                with segment():
                    for _ in range(PER_SEGMENT):
                        call()

        run(PER_SEGMENT * 5)  # warm-up: connections, caches
        samples = []
        for _ in range(repeats):
            t0 = clock()
            run()
            samples.append((clock() - t0) / count / 1000)
        out[library] = statistics.median(samples)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer iterations (smoke run)")
    parser.add_argument("--json", help="also write results to this file")
    parser.add_argument("--network", action="store_true", help="call a local HTTP server instead")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the four processes")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    n, repeats = (2_000, 3) if args.quick else (20_000, 5)
    if args.worker:
        print(json.dumps(_worker(args.worker, args.url, n, repeats, args.network)))
        return

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d" % server.server_address[1]
    rounds: dict = {sdk: [] for sdk in SDKS}
    for _ in range(args.rounds):
        for sdk in SDKS:
            cmd = [sys.executable, __file__, "--worker", sdk, "--url", url]
            cmd += (["--quick"] if args.quick else []) + (["--network"] if args.network else [])
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
            if proc.returncode != 0:
                raise SystemExit("%s worker failed:\n%s" % (sdk, proc.stderr))
            rounds[sdk].append(json.loads(proc.stdout.strip().splitlines()[-1]))
    server.shutdown()
    results = {sdk: {lib: statistics.median(r[lib] for r in runs) for lib in LIBRARIES}
               for sdk, runs in rounds.items()}

    print("machine:", machine(), "| endpoints:", "local HTTP server" if args.network else "in-process")
    print("%-10s %12s %14s %18s %16s %18s" % ("library", "bare µs/call", "fluoro +µs", "aws-xray-sdk +µs",
                                               "otel +µs", "fluoro/aws-xray"))
    added: dict = {}
    for library in LIBRARIES:
        bare = results["none"][library]
        added[library] = {sdk: results[sdk][library] - bare for sdk in SDKS[1:]}
        row = added[library]
        ratio = row["fluoro"] / row["aws-xray-sdk"] if row["aws-xray-sdk"] > 0 else float("nan")
        print("%-10s %12.1f %14.1f %18.1f %16.1f %18.2f" % (library, bare, row["fluoro"], row["aws-xray-sdk"],
                                                            row["opentelemetry"], ratio))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine(), "per_call_us": results, "added_us": added}, f, indent=1)


if __name__ == "__main__":
    main()

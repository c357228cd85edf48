"""Per-call overhead of the tracing SDKs, measured in one run on this machine.

fluoro vs aws-xray-sdk 2.15 vs opentelemetry-sdk: median microseconds per operation
over several repetitions of a tight loop, plus ``import`` cost in a fresh interpreter.
Run alone: ``.venv/bin/python bench/sdk_overhead.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time

SEGMENT_EVERY = 20  # subsegments per segment, below the streaming threshold (30)


class NullEmitter:
    """Emitter that drops entities (measures the recorder, not the wire)."""

    def send_entity(self, entity) -> None:  # type: ignore[no-untyped-def]
        pass

    def set_daemon_address(self, address) -> None:  # type: ignore[no-untyped-def]
        pass


def _timeit(fn, n: int, repeats: int) -> float:  # type: ignore[no-untyped-def]
    """Median µs per op of ``fn(n)`` (which performs n operations)."""
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        fn(n)
        samples.append((time.perf_counter_ns() - t0) / n / 1000)
    return statistics.median(samples)


def xray_like_scenarios(recorder, context_cls, sampler_cls, udp_emitter_cls, udp_port: int) -> dict:  # type: ignore[no-untyped-def]
    """The same scenarios for any recorder with the aws_xray_sdk API."""
    recorder.configure(sampling=False, emitter=NullEmitter(), context=context_cls(), sampler=sampler_cls(),
                       service="bench")

    def pair(n: int) -> None:
        begin_seg, end_seg = recorder.begin_segment, recorder.end_segment
        begin, end = recorder.begin_subsegment, recorder.end_subsegment
        for _ in range(n // SEGMENT_EVERY):
            begin_seg("bench")
            for _ in range(SEGMENT_EVERY):
                begin("work")
                end()
            end_seg()

    @recorder.capture("captured")
    def captured() -> None:
        pass

    def capture(n: int) -> None:
        for _ in range(n // SEGMENT_EVERY):
            recorder.begin_segment("bench")
            for _ in range(SEGMENT_EVERY):
                captured()
            recorder.end_segment()

    def capture_unsampled(n: int) -> None:
        for _ in range(n // SEGMENT_EVERY):
            recorder.begin_segment("bench", sampling=0)
            for _ in range(SEGMENT_EVERY):
                captured()
            recorder.end_segment()

    def context_manager(n: int) -> None:
        for _ in range(n // SEGMENT_EVERY):
            recorder.begin_segment("bench")
            for _ in range(SEGMENT_EVERY):
                with recorder.in_subsegment("cm"):
                    pass
            recorder.end_segment()

    udp = udp_emitter_cls("127.0.0.1:%d" % udp_port)

    def segment_over_udp(n: int) -> None:
        recorder.configure(emitter=udp)
        try:
            for _ in range(n):
                recorder.begin_segment("bench")
                recorder.begin_subsegment("work")
                recorder.end_subsegment()
                recorder.end_segment()
        finally:
            recorder.configure(emitter=NullEmitter())

    return {
        "begin+end subsegment": pair,
        "@capture call": capture,
        "@capture call, unsampled segment": capture_unsampled,
        "with in_subsegment()": context_manager,
        "segment + 1 subsegment, serialized, sent over UDP": segment_over_udp,
    }


def otel_scenarios() -> dict:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    class NoopExporter(SpanExporter):
        def export(self, spans):  # type: ignore[no-untyped-def]
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(NoopExporter()))
    tracer = provider.get_tracer("bench")

    def child_span(n: int) -> None:
        for _ in range(n // SEGMENT_EVERY):
            with tracer.start_as_current_span("root"):
                for _ in range(SEGMENT_EVERY):
                    with tracer.start_as_current_span("work"):
                        pass

    @tracer.start_as_current_span("decorated")
    def decorated() -> None:
        pass

    def decorator(n: int) -> None:
        for _ in range(n // SEGMENT_EVERY):
            with tracer.start_as_current_span("root"):
                for _ in range(SEGMENT_EVERY):
                    decorated()

    return {
        "begin+end subsegment": child_span,
        "@capture call": decorator,
        "with in_subsegment()": child_span,
    }


def import_ms(module: str, runs: int) -> float:
    """Median wall time of ``import module`` in a fresh interpreter, minus a bare interpreter."""
    def once(code: str) -> float:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=dict(os.environ, AWS_XRAY_SDK_ENABLED="true"))
        return (time.perf_counter() - t0) * 1000

    bare = statistics.median(once("pass") for _ in range(runs))
    return statistics.median(once("import " + module) for _ in range(runs)) - bare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer iterations (smoke run)")
    parser.add_argument("--json", help="also write results to this file")
    args = parser.parse_args()
    n, repeats, import_runs = (2_000, 3, 3) if args.quick else (30_000, 9, 9)

    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    port = sink.getsockname()[1]

    import aws_xray_sdk.core as upstream_core
    from aws_xray_sdk.core.context import Context as UContext
    from aws_xray_sdk.core.emitters.udp_emitter import UDPEmitter as UUDPEmitter
    from aws_xray_sdk.core.sampling.local.sampler import LocalSampler as ULocalSampler

    import fluoro.core as fluoro_core
    from fluoro.core.context import Context as FContext
    from fluoro.core.emitters.udp_emitter import UDPEmitter as FUDPEmitter
    from fluoro.core.sampling.local.sampler import LocalSampler as FLocalSampler

    suites = {
        "fluoro": xray_like_scenarios(fluoro_core.xray_recorder, FContext, FLocalSampler, FUDPEmitter, port),
        "aws-xray-sdk": xray_like_scenarios(upstream_core.xray_recorder, UContext, ULocalSampler, UUDPEmitter, port),
        "opentelemetry-sdk": otel_scenarios(),
    }
    results: dict = {name: {} for name in suites}
    scenarios = list(suites["fluoro"])
    for scenario in scenarios:
        for name, suite in suites.items():
            if scenario in suite:
                fn = suite[scenario]
                fn(max(n // 10, SEGMENT_EVERY))  # warm-up
                count = n if "UDP" not in scenario else n // 4
                results[name][scenario] = _timeit(fn, count, repeats)
        # Drain the sink so it keeps accepting.
        sink.setblocking(False)
        try:
            while True:
                sink.recv(65536)
        except BlockingIOError:
            pass

    imports = {
        "fluoro": import_ms("fluoro.core", import_runs),
        "aws-xray-sdk": import_ms("aws_xray_sdk.core", import_runs),
        "opentelemetry-sdk": import_ms("opentelemetry.sdk.trace", import_runs),
    }

    print("machine: %s, %d cores, Python %s, %s" % (platform.processor() or platform.machine(), os.cpu_count() or 0,
                                                     platform.python_version(), time.strftime("%Y-%m-%d")))
    print("median µs/op (n=%d, %d repeats); ratio = other / fluoro" % (n, repeats))
    header = "%-52s %9s %13s %7s %13s %7s" % ("scenario", "fluoro", "aws-xray-sdk", "ratio", "otel-sdk", "ratio")
    print(header)
    print("-" * len(header))
    for scenario in scenarios:
        f = results["fluoro"][scenario]
        u = results["aws-xray-sdk"].get(scenario)
        o = results["opentelemetry-sdk"].get(scenario)
        print("%-52s %9.2f %13s %7s %13s %7s" % (
            scenario, f,
            "%.2f" % u if u else "-", "%.1fx" % (u / f) if u else "-",
            "%.2f" % o if o else "-", "%.1fx" % (o / f) if o else "-"))
    f = imports["fluoro"]
    print("%-52s %9.1f %13.1f %7s %13.1f %7s" % (
        "import (ms over a bare interpreter)", f, imports["aws-xray-sdk"], "%.1fx" % (imports["aws-xray-sdk"] / f),
        imports["opentelemetry-sdk"], "%.1fx" % (imports["opentelemetry-sdk"] / f)))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"results": results, "imports_ms": imports}, fh, indent=2)


if __name__ == "__main__":
    main()

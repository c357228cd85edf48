"""``fluoro demo``: the article's whole experiment on this machine, in one command.

A fluoro server on the embedded DuckDB store; the article's SAM example project
(template and handler unchanged) under ``fluoro local start-api`` with DynamoDB and S3
served by moto; requests like the article's curl; then what the X-Ray console shows
the reader: the trace list, the trace map, the segments timeline, the function's log
warning, and the three configurations the article compares.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SEED = Path(__file__).resolve().parent / "seed_example"
BODY = {"name": "Test User", "email": "test@example.com"}
# (label, function tracing override, SDK enabled, what the article reports)
CONFIGURATIONS = [
    ("1. API Gateway tracing only", "PassThrough", False, "API Gateway and Lambda; no S3, DynamoDB or detail"),
    ("2. + Lambda active tracing", "Active", False, "as 1, plus the Lambda Function next to the Lambda service"),
    ("3. + X-Ray SDK (the template as is)", None, True, "DynamoDB and S3 nodes; their calls in the timeline"),
]


def _free_port() -> int:
    """A port number free for both TCP and UDP on loopback (the server uses both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                udp.bind(("127.0.0.1", port))
            return int(port)
        except OSError:
            continue
    raise RuntimeError("no free port on 127.0.0.1")


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("fluoro server exited with code %s" % proc.returncode)
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("fluoro server did not become healthy at %s" % url)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--requests", type=int, default=5, help="requests like the article's curl (default 5)")
    parser.add_argument("--store", default=str(Path(".fluoro") / "demo.duckdb"),
                        help="DuckDB file for the demo's traces (default .fluoro/demo.duckdb)")
    parser.add_argument("--port", type=int, default=0, help="server port (default: a free one)")
    parser.add_argument("--keep-running", action="store_true",
                        help="keep the server and the local API running until Ctrl-C")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fluoro demo", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


def _project(workdir: Path) -> tuple[Path, str]:
    """The seed project as published, or with the ``fluoro`` import prefix when aws-xray-sdk is absent."""
    if importlib.util.find_spec("aws_xray_sdk") is not None:
        return SEED / "template.yaml", "unchanged, with the real aws-xray-sdk"
    shutil.copytree(SEED, workdir / "seed_example")
    app = workdir / "seed_example" / "src" / "app.py"
    app.write_text(app.read_text().replace("from aws_xray_sdk.core import", "from fluoro.core import"))
    return workdir / "seed_example" / "template.yaml", "with the import prefix aws_xray_sdk -> fluoro"


def _post(url: str, body: Any) -> tuple[int, str]:
    import httpx

    kwargs: dict[str, Any] = {"content": body} if isinstance(body, str) else {"json": body}
    response = httpx.post(url, headers={"Content-Type": "application/json"}, timeout=60, **kwargs)
    return response.status_code, response.headers["x-amzn-trace-id"].removeprefix("Root=")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from fluoro.demo.show import (
        comparison_table,
        service_graph,
        service_map,
        summaries_table,
        timeline,
        trace_map,
        wait_for_traces,
        xray_client,
    )
    from fluoro.local.resources import MotoServer
    from fluoro.local.start_api import LocalApi, LocalApiConfig

    console = Console(width=None if sys.stdout.isatty() else 140)
    began = time.time()
    port = args.port or _free_port()
    endpoint = "http://127.0.0.1:%d" % port
    Path(args.store).parent.mkdir(parents=True, exist_ok=True)
    console.rule("[bold]fluoro demo: the AWS X-Ray article, on this machine")
    console.print("fluoro server on UDP+TCP 127.0.0.1:%d, embedded DuckDB store %s" % (port, args.store))
    server = subprocess.Popen([sys.executable, "-m", "fluoro.cli", "server", "--port", str(port),
                               "--store", args.store, "--log-level", "warning"])
    moto = MotoServer()
    apis: list[LocalApi] = []
    workdir = Path(tempfile.mkdtemp(prefix="fluoro-demo-"))
    try:
        moto.start()
        _wait_healthy(endpoint, server)
        template, how = _project(workdir)
        console.print("The article's example project (%s), DynamoDB and S3 by moto at %s" % (how, moto.endpoint))
        trace_configs: dict[str, str] = {}
        per_config: list[tuple[str, str, str]] = []  # (label, reported, one trace id)
        full_ids: list[str] = []
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console,
                      transient=False) as progress:
            for label, function_tracing, sdk, reported in CONFIGURATIONS:
                last = label.startswith("3.")
                config = LocalApiConfig(template=str(template), port=0, daemon_address="127.0.0.1:%d" % port,
                                        function_tracing=function_tracing, sdk_enabled=sdk, aws_endpoint=moto.endpoint)
                api = LocalApi(config).start_in_thread()
                apis.append(api)
                url = api.url + "/dev/users"
                count = args.requests + 1 if last else 1
                if last:
                    progress.console.print("  the article's request: curl -X POST %s -H \"Content-Type: application/json\" "
                                           "-d '%s'" % (url, json.dumps(BODY)), highlight=False, soft_wrap=True)
                task = progress.add_task("%-36s POST %s" % (label, url), total=count)
                for i in range(count):
                    # The last request of the full configuration sends a body that is not JSON:
                    # the handler's json.loads raises, Lambda reports the error, API Gateway answers 502.
                    body: Any = "{not json" if last and i == count - 1 else BODY
                    status, trace_id = _post(url, body)
                    trace_configs[trace_id] = "%s (%d)" % (label.split(" ")[0].rstrip("."), status)
                    if last:
                        full_ids.append(trace_id)
                    progress.advance(task)
                per_config.append((label, reported, trace_id if not last else full_ids[0]))
                if not last:
                    api.stop()

        xray = xray_client(endpoint)
        full_api = apis[-1]

        def expected(trace_id: str) -> set[str]:
            if trace_id in full_ids[:-1]:
                return {"AWS::ApiGateway::Stage", "AWS::Lambda::Function", "AWS::DynamoDB::Table", "AWS::S3::Bucket"}
            if trace_id == full_ids[-1] or trace_configs[trace_id].startswith("2"):
                return {"AWS::ApiGateway::Stage", "AWS::Lambda::Function"}
            return {"AWS::ApiGateway::Stage"}

        traces = wait_for_traces(xray, list(trace_configs),
                                 lambda docs: bool(docs) and expected(docs[0]["trace_id"]) <= {
                                     d.get("origin") for d in docs})
        console.print()
        console.print(summaries_table(xray, began, trace_configs))

        newest_ok = full_ids[-2]
        docs = traces.get(newest_ok, [])
        services = service_graph(xray, began - 5, time.time() + 5)
        if services:
            console.rule("Service map (GetServiceGraph), all the demo's requests")
            console.print(service_map(services, "[bold]service map[/]"))
        console.rule("Trace map of %s" % newest_ok)
        console.print(trace_map(docs, "[bold]trace map[/] [dim](drawn from BatchGetTraces documents)"))
        console.rule("Segments timeline of %s" % newest_ok)
        console.print(timeline(docs, "[bold]%s[/]" % newest_ok))
        failed = traces.get(full_ids[-1], [])
        if failed:
            console.rule("The failed request (a body that is not JSON): %s" % full_ids[-1])
            console.print(timeline(failed, "[bold]%s[/]" % full_ids[-1]))
        warnings = [line for line in full_api.workers["ProcessUserFunction"].logs if "[WARNING]" in line]
        console.rule("Function log")
        for line in warnings[:2]:
            console.print(line, markup=False, highlight=False, soft_wrap=True)
        console.rule("Comparison")
        console.print(comparison_table([(label, reported, traces.get(trace_id, []))
                                        for label, reported, trace_id in per_config]))
        console.print("\nTry filter expressions (GetTraceSummaries, or aws xray get-trace-summaries "
                      "--endpoint-url %s --filter-expression ...):" % endpoint)
        for expression in ('annotation.annotation1 = "annotation test"', "fault = true", "responsetime > 0.3",
                           "http.status = 502"):
            try:
                found = [s for page in xray.get_paginator("get_trace_summaries").paginate(
                    StartTime=began - 5, EndTime=time.time() + 5, FilterExpression=expression)
                    for s in page["TraceSummaries"]]
                console.print("  %-48s %d traces" % (expression, len(found)), highlight=False)
            except Exception as exc:  # a filter the server does not support is shown, not fatal
                console.print("  %-48s %s" % (expression, exc), highlight=False)
        console.print("Done in %.1f s." % (time.time() - began))
        if args.keep_running:
            console.print("Serving: X-Ray API %s, the article's API at %s/dev/users; Ctrl-C to stop."
                          % (endpoint, full_api.url))
            try:
                server.wait()
            except KeyboardInterrupt:
                pass
        return 0
    finally:
        for api in apis:
            api.stop()
        moto.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()

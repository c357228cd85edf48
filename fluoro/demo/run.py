"""``fluoro demo``: the article's whole experiment on this machine, then an app of fluoro's own.

A fluoro server on the embedded DuckDB store. Part 1: the article's SAM example project
(template and handler unchanged) under ``fluoro local start-api`` with DynamoDB and S3
served by moto, in the article's three configurations, with what the X-Ray console
shows its reader. Part 2: fluoro's demo app (fluoro/demo/app) under start-api, a stream
of requests, some failing as real ones do (400, 500, a throttled table), then the
service graph, timelines, the console URL and filter expressions to try. Serves until
Ctrl-C on a terminal; stops after the requests otherwise (``--exit``/``--keep-running``).
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
    parser.add_argument("--requests", type=int, default=3,
                        help="requests like the article's curl in its full configuration (default 3)")
    parser.add_argument("--app-requests", type=int, default=24,
                        help="requests to fluoro's own demo app (default 24, a mix of successes and failures)")
    parser.add_argument("--store", default=str(Path(".fluoro") / "demo.duckdb"),
                        help="DuckDB file for the demo's traces (default .fluoro/demo.duckdb)")
    parser.add_argument("--port", type=int, default=0, help="server port (default: a free one)")
    serving = parser.add_mutually_exclusive_group()
    serving.add_argument("--exit", action="store_true",
                         help="stop after the requests (the default when stdout is not a terminal)")
    serving.add_argument("--keep-running", action="store_true",
                         help="keep the server and the local APIs running until Ctrl-C (the default on a terminal)")


def keeps_serving(args: argparse.Namespace, interactive: bool) -> bool:
    """Serve until Ctrl-C on a terminal, stop after the requests otherwise; the flags force either way."""
    if args.exit:
        return False
    return bool(args.keep_running or interactive)


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


def _progress(console: Any) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[last]}"),
                    console=console, transient=False)


def _article(console: Any, args: argparse.Namespace, xray: Any, daemon: str, moto: str, workdir: Path,
             apis: list[Any]) -> None:
    """Part 1: the article's example project in its three configurations, and what each trace shows."""
    from fluoro.demo.show import comparison_table, summaries_table, timeline, trace_map, wait_for_traces
    from fluoro.local.start_api import LocalApi, LocalApiConfig

    began = time.time()
    template, how = _project(workdir)
    console.rule("[bold]Part 1: the article's experiment")
    console.print("The article's example project (%s), DynamoDB and S3 by moto at %s" % (how, moto))
    trace_configs: dict[str, str] = {}
    per_config: list[tuple[str, str, str]] = []  # (label, reported, one trace id)
    full_ids: list[str] = []
    with _progress(console) as progress:
        for label, function_tracing, sdk, reported in CONFIGURATIONS:
            last = label.startswith("3.")
            config = LocalApiConfig(template=str(template), port=0, daemon_address=daemon,
                                    function_tracing=function_tracing, sdk_enabled=sdk, aws_endpoint=moto)
            api = LocalApi(config).start_in_thread()
            apis.append(api)
            url = api.url + "/dev/users"
            count = args.requests + 1 if last else 1
            if last:
                progress.console.print("  the article's request: curl -X POST %s -H \"Content-Type: application/json\" "
                                       "-d '%s'" % (url, json.dumps(BODY)), highlight=False, soft_wrap=True)
            task = progress.add_task("%-36s POST %s" % (label, url), total=count, last="")
            for i in range(count):
                # The last request of the full configuration sends a body that is not JSON:
                # the handler's json.loads raises, Lambda reports the error, API Gateway answers 502.
                body: Any = "{not json" if last and i == count - 1 else BODY
                status, trace_id = _post(url, body)
                trace_configs[trace_id] = "%s (%d)" % (label.split(" ")[0].rstrip("."), status)
                if last:
                    full_ids.append(trace_id)
                progress.update(task, advance=1, last=str(status))
            per_config.append((label, reported, trace_id if not last else full_ids[0]))
            if not last:
                api.stop()
                apis.remove(api)

    def expected(trace_id: str) -> set[str]:
        if trace_id in full_ids[:-1]:
            return {"AWS::ApiGateway::Stage", "AWS::Lambda::Function", "AWS::DynamoDB::Table", "AWS::S3::Bucket"}
        if trace_id == full_ids[-1] or trace_configs[trace_id].startswith("2"):
            return {"AWS::ApiGateway::Stage", "AWS::Lambda::Function"}
        return {"AWS::ApiGateway::Stage"}

    traces = wait_for_traces(xray, list(trace_configs),
                             lambda docs: bool(docs) and expected(docs[0]["trace_id"]) <= {d.get("origin") for d in docs})
    console.print(summaries_table(xray, began, trace_configs))
    newest_ok = full_ids[-2]
    docs = traces.get(newest_ok, [])
    console.rule("Trace map of %s" % newest_ok)
    console.print(trace_map(docs, "[bold]trace map[/] [dim](drawn from BatchGetTraces documents)"))
    console.rule("Segments timeline of %s" % newest_ok)
    console.print(timeline(docs, "[bold]%s[/]" % newest_ok))
    failed = traces.get(full_ids[-1], [])
    if failed:
        console.rule("The failed request (a body that is not JSON): %s" % full_ids[-1])
        console.print(timeline(failed, "[bold]%s[/]" % full_ids[-1]))
    warnings = [line for line in apis[-1].workers["ProcessUserFunction"].logs if "[WARNING]" in line]
    console.rule("Function log")
    for line in warnings[:2]:
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    console.rule("Comparison")
    console.print(comparison_table([(label, reported, traces.get(trace_id, []))
                                    for label, reported, trace_id in per_config]))


def _stage_count(services: list[dict[str, Any]]) -> int:
    """Requests the demo app's API stage has in a GetServiceGraph answer."""
    from fluoro.demo.traffic import STACK_NAME, STAGE

    return sum((s.get("SummaryStatistics") or {}).get("TotalCount", 0) for s in services
               if s.get("Name") == "%s/%s" % (STACK_NAME, STAGE) and s.get("Type") == "AWS::ApiGateway::Stage")


def _demo_app(console: Any, args: argparse.Namespace, xray: Any, daemon: str, aws_endpoint: str,
              apis: list[Any]) -> tuple[Any, float, dict[str, list[dict]], int]:
    """Part 2: fluoro's own demo app under start-api, a stream of requests, their traces."""
    from fluoro.demo.show import sent_table, service_graph, wait_for_traces
    from fluoro.demo.traffic import APP_TEMPLATE, STACK_NAME, STAGE, plan, send
    from fluoro.local.start_api import LocalApi, LocalApiConfig

    console.rule("[bold]Part 2: fluoro's demo app")
    # Trace ids carry whole seconds and time windows select by them: start on a fresh second
    # so the windows below hold this part's traces and none of part 1's.
    began = float(int(time.time()) + 1)
    time.sleep(max(0.0, began - time.time()))
    api = LocalApi(LocalApiConfig(template=str(APP_TEMPLATE), port=0, stack_name=STACK_NAME, daemon_address=daemon,
                                  aws_endpoint=aws_endpoint)).start_in_thread()
    apis.append(api)
    base = "%s/%s" % (api.url, STAGE)
    console.print("%s (two functions, a DynamoDB table per function, an S3 bucket) at %s" % (APP_TEMPLATE, base),
                  highlight=False, soft_wrap=True)
    console.print("[dim]The throttle: moto never throttles, so fluoro local enforces the imports table's provisioned "
                  "write capacity (1 WCU) in front of it and answers DynamoDB's ProvisionedThroughputExceededException "
                  "(HTTP 400); the function answers 429, which API Gateway's segment flags as a throttle.[/]")
    # The graph counts by the minute: an earlier run on the same store may already be in it.
    counted_before = _stage_count(service_graph(xray, began, time.time() + 60) or [])
    kinds = plan(args.app_requests)
    with _progress(console) as progress:
        task = progress.add_task("requests to %s" % base, total=len(kinds), last="")
        sent = send(base, kinds, lambda s: progress.update(task, advance=1, last="%s %s %d" % (s.method, s.path, s.status)))
    traces = wait_for_traces(xray, [s.trace_id for s in sent], lambda docs: {
        "AWS::ApiGateway::Stage", "AWS::Lambda::Function"} <= {d.get("origin") for d in docs})
    console.print(sent_table(sent))
    return sent, began, traces, counted_before


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from fluoro.demo.show import filter_counts, service_graph, service_map, timeline, xray_client
    from fluoro.demo.traffic import STACK_NAME, STAGE
    from fluoro.local.capacity import CapacityProxy
    from fluoro.local.resources import MotoServer

    interactive = sys.stdout.isatty()
    console = Console(width=None if interactive else 140)
    began = time.time()
    port = args.port or _free_port()
    endpoint = "http://127.0.0.1:%d" % port
    daemon = "127.0.0.1:%d" % port
    Path(args.store).parent.mkdir(parents=True, exist_ok=True)
    console.rule("[bold]fluoro demo: the AWS X-Ray article, and an app of fluoro's own, on this machine")
    console.print("fluoro server on UDP+TCP 127.0.0.1:%d, embedded DuckDB store %s" % (port, args.store))
    server = subprocess.Popen([sys.executable, "-m", "fluoro.cli", "server", "--port", str(port),
                               "--store", args.store, "--log-level", "warning"])
    moto = MotoServer()
    proxy: CapacityProxy | None = None
    apis: list[Any] = []
    workdir = Path(tempfile.mkdtemp(prefix="fluoro-demo-"))
    try:
        moto.start()
        proxy = CapacityProxy(moto.endpoint).start()
        _wait_healthy(endpoint, server)
        xray = xray_client(endpoint)
        _article(console, args, xray, daemon, moto.endpoint, workdir, apis)
        sent, app_began, traces, counted_before = _demo_app(console, args, xray, daemon, proxy.endpoint, apis)

        window = (app_began, time.time() + 5)
        stage = "%s/%s" % (STACK_NAME, STAGE)
        seen = sum(1 for s in sent if s.trace_id in traces)

        def graph_ready(services: list[dict[str, Any]]) -> bool:
            return _stage_count(services) >= counted_before + seen

        services = service_graph(xray, *window, ready=graph_ready)
        if services:
            console.rule("Service graph (GetServiceGraph) of the demo app's %d requests" % len(sent))
            if counted_before:
                console.print("[dim]The graph counts by the minute: it includes %d requests of an earlier run on "
                              "this store.[/]" % counted_before)
            console.print(service_map(services, "[bold]service map[/]", root_names={stage}))
        for kind, what in (("create_pro", "a user saved: the three instrumentation styles, DynamoDB and S3"),
                           ("enterprise", "the pricing bug: a fault with its stack"),
                           ("import", "the throttled import")):
            shown = next((s for s in sent if s.kind == kind and traces.get(s.trace_id)), None)
            if shown is not None:
                console.rule("Timeline of %s (%s)" % (shown.trace_id, what))
                console.print(timeline(traces[shown.trace_id], "[bold]%s %s -> %d[/]" % (shown.method, shown.path,
                                                                                       shown.status)))
        console.rule("[bold]Where to look")
        console.print("Console:  [bold]http://127.0.0.1:%d/[/]" % port)
        console.print("X-Ray API: %s (boto3 / aws xray ... --endpoint-url %s)" % (endpoint, endpoint), highlight=False)
        console.print("Filter expressions to try (counts over the demo app's requests, from GetTraceSummaries):")
        for expression, count in filter_counts(xray, window, [
                "fault", "error", "throttle", 'annotation.plan = "pro"', "http.status = 400",
                'service("fluoro-demo/demo") { fault }',
                'service(id(name: "fluoro-demo-imports", type: "AWS::DynamoDB::Table")) { throttle }',
                "annotation.batch_size >= 5"]):
            console.print("  %-48s %s" % (expression, count), highlight=False)
        console.print("Done in %.1f s." % (time.time() - began))
        if keeps_serving(args, interactive):
            console.print("Serving until Ctrl-C: the demo app at %s/demo/users, the article's API at %s/dev/users; "
                          "traces keep flowing to the console." % (apis[-1].url, apis[0].url), highlight=False)
            try:
                server.wait()
            except KeyboardInterrupt:
                pass
        return 0
    finally:
        for api in apis:
            api.stop()
        if proxy is not None:
            proxy.stop()
        moto.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()

"""``fluoro local start-api``: a SAM template's API Gateway, Lambda functions, DynamoDB
tables and S3 buckets on this machine, traced as AWS traces them.

Start order: template → moto → tables and buckets → workers (started on first call)
→ HTTP. Stop runs backwards. :class:`LocalApi` also runs in a thread for tests and
``fluoro demo``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn

from fluoro.local.capacity import CapacityProxy
from fluoro.local.cli_args import parameter_overrides
from fluoro.local.gateway import Gateway
from fluoro.local.invoker import FunctionPool, LambdaRuntimeSettings
from fluoro.local.resources import MotoServer, create_resources
from fluoro.local.segments import SegmentSender
from fluoro.local.template import Template, TemplateError, load_template

log = logging.getLogger("fluoro.local")


@dataclass
class LocalApiConfig:
    template: str
    host: str = "127.0.0.1"
    port: int = 3000
    stack_name: str = "sam-app"
    region: str = "us-east-1"
    parameter_overrides: dict[str, str] = field(default_factory=dict)
    daemon_address: str = "127.0.0.1:2000"
    # The article's configurations without editing the template:
    api_tracing: bool | None = None  # None: each API's TracingEnabled
    function_tracing: str | None = None  # None: each function's Tracing
    sdk_enabled: bool = True  # False: AWS_XRAY_SDK_ENABLED=false in every function
    aws_endpoint: str | None = None  # an emulator already running (shared between instances); None: start moto
    enforce_capacity: bool = False  # throttle writes beyond a table's provisioned capacity (moto alone never does)


class LocalApi:
    def __init__(self, config: LocalApiConfig) -> None:
        self.config = config
        self.template: Template = load_template(config.template, config.stack_name, config.region,
                                                config.parameter_overrides)
        self.moto: MotoServer | None = None
        self.capacity: CapacityProxy | None = None
        self.aws_endpoint: str | None = None
        self.sender: SegmentSender | None = None
        self.workers: dict[str, FunctionPool] = {}
        self.port = config.port
        self.created: list[str] = []
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return "http://%s:%d" % (self.config.host, self.port)

    def prepare(self) -> None:
        """Everything but HTTP: moto, the template's tables and buckets, the workers."""
        cfg = self.config
        endpoint = cfg.aws_endpoint
        if endpoint is None and (self.template.tables or self.template.buckets):
            self.moto = MotoServer(cfg.host)
            self.moto.start()
            endpoint = self.moto.endpoint
            if cfg.enforce_capacity:
                self.capacity = CapacityProxy(endpoint, cfg.host).start()
                endpoint = self.capacity.endpoint
        if endpoint is not None:
            self.created = create_resources(self.template, endpoint)
        self.aws_endpoint = endpoint
        self.sender = SegmentSender(cfg.daemon_address)
        settings = LambdaRuntimeSettings(region=cfg.region, endpoint_url=endpoint,
                                         daemon_address=cfg.daemon_address, tracing_override=cfg.function_tracing,
                                         sdk_enabled=cfg.sdk_enabled)
        self.workers = {lid: FunctionPool(fn, settings, self.sender) for lid, fn in self.template.functions.items()}

    def describe(self) -> list[str]:
        """What start-up prints: routes, resources and what is not emulated, by name."""
        lines = []
        gateway_tracing = self.config.api_tracing
        for api in self.template.apis.values():
            traced = api.tracing if gateway_tracing is None else gateway_tracing
            lines.append("API %s (%s), stage %s, X-Ray tracing %s" % (api.name, api.logical_id, api.stage,
                                                                       "on" if traced else "off"))
        for lid, worker in self.workers.items():
            fn = worker.function
            for route in fn.routes:
                stage = self.template.apis[route.api_id].stage
                lines.append("  %-6s %s/%s%s and %s%s -> %s" % (route.method, self.url, stage, route.path,
                                                              self.url, route.path, lid))
            lines.append("Function %s (%s, %s, timeout %gs, tracing %s%s)" % (
                fn.name, fn.handler, fn.runtime, fn.timeout, worker.tracing,
                "" if self.config.sdk_enabled else ", X-Ray SDK disabled"))
        lines.extend(self.created)
        if self.aws_endpoint:
            lines.append("DynamoDB and S3 (moto) at %s" % self.aws_endpoint)
        if self.capacity is not None:
            lines.append("DynamoDB provisioned write capacity enforced in front of moto (ProvisionedThroughputExceeded"
                         "Exception beyond a table's WriteCapacityUnits per second)")
        lines.append("X-Ray segments to %s (UDP)" % self.config.daemon_address)
        for item in self.template.unsupported:
            lines.append("NOT EMULATED: %s" % item)
        return lines

    def _build_server(self) -> uvicorn.Server:
        gateway = Gateway(self.template, self.workers, self.sender, api_tracing=self.config.api_tracing)
        config = uvicorn.Config(gateway.app, host=self.config.host, port=self.config.port, log_level="warning",
                                lifespan="off")
        return uvicorn.Server(config)

    def start_in_thread(self, timeout: float = 30.0) -> LocalApi:
        """Start everything and serve HTTP in a background thread (port 0: a free one)."""
        self.prepare()
        self._server = self._build_server()
        started = threading.Event()
        server = self._server

        def serve() -> None:
            asyncio.run(server.serve())

        self._thread = threading.Thread(target=serve, daemon=True, name="fluoro-local-http")
        self._thread.start()
        import time

        deadline = time.monotonic() + timeout
        while not server.started and time.monotonic() < deadline and self._thread.is_alive():
            time.sleep(0.02)
        if not server.started:
            self.stop()
            raise RuntimeError("the local API did not start")
        sockets = [s for srv in server.servers for s in srv.sockets]
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        started.set()
        return self

    def serve_forever(self) -> None:
        self.prepare()
        self._server = self._build_server()
        try:
            self._server.run()
        finally:
            self.stop()

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        for worker in self.workers.values():
            worker.stop()
        if self.capacity is not None:
            self.capacity.stop()
            self.capacity = None
        if self.moto is not None:
            self.moto.stop()
            self.moto = None
        if self.sender is not None:
            self.sender.close()
            self.sender = None

    def __enter__(self) -> LocalApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def config_from_args(args: argparse.Namespace) -> LocalApiConfig:
    return LocalApiConfig(template=args.template, host=args.host, port=args.port, stack_name=args.stack_name,
                          region=args.region, parameter_overrides=parameter_overrides(args.parameter_overrides),
                          daemon_address=args.daemon_address, api_tracing=args.api_tracing,
                          function_tracing=args.function_tracing, sdk_enabled=not args.disable_sdk,
                          enforce_capacity=args.enforce_capacity)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("fluoro.local").setLevel(logging.INFO)
    try:
        config = config_from_args(args)
        local = LocalApi(config)
    except (TemplateError, argparse.ArgumentTypeError) as exc:
        print("fluoro local start-api: %s" % exc, file=sys.stderr)
        return 2
    print("Template %s, stack %s, region %s" % (Path(config.template), config.stack_name, config.region))
    try:
        local.prepare()
    except (RuntimeError, OSError) as exc:  # the emulator could not start: say why, leave nothing running
        local.stop()
        print("fluoro local start-api: %s" % exc, file=sys.stderr)
        return 1
    for line in local.describe():
        print(line)
    print("Serving on %s (Ctrl-C to stop)" % local.url, flush=True)
    local._server = local._build_server()
    try:
        local._server.run()
    finally:
        local.stop()
    return 0

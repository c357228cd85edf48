"""The ``fluoro`` command.  Subcommands import their dependencies lazily, so this
module loads without the server extra installed."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Sequence


def _server(args: argparse.Namespace) -> int:
    try:
        from fluoro.server import FluoroServer, ServerConfig
    except ImportError as exc:
        print(f"fluoro server needs the server extra: pip install 'fluoro[server]' ({exc})", file=sys.stderr)
        return 2
    from fluoro.daemon.pipeline import PipelineConfig

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = ServerConfig(
        host=args.host,
        port=args.port,
        store=args.store,
        retention_days=args.retention_days,
        memory_limit=args.memory_limit,
        log_level=args.log_level,
        pipeline=PipelineConfig(flush_interval=args.flush_interval),
        udp_process=args.udp_process,
        summary_workers=args.summary_workers,
    )
    FluoroServer(config).run()
    return 0


def _daemon(args: argparse.Namespace) -> int:
    from fluoro.forwarder.run import run

    return run(args)


def _demo(args: argparse.Namespace) -> int:
    from fluoro.demo.run import run

    return run(args)


def _local_start_api(args: argparse.Namespace) -> int:
    try:
        from fluoro.local.start_api import run
    except ImportError as exc:
        print(f"fluoro local needs the local extra: pip install 'fluoro[local]' ({exc})", file=sys.stderr)
        return 2
    return run(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fluoro", description="Self-hosted, X-Ray compatible tracing.")
    sub = parser.add_subparsers(dest="command", required=True)
    server = sub.add_parser("server", help="run the daemon, store and X-Ray API on one port")
    server.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    server.add_argument("--port", type=int, default=2000, help="UDP and TCP port number (default 2000)")
    server.add_argument(
        "--store", default=None, help="DuckDB file path, 'memory', or a store URL (default: user data dir)"
    )
    server.add_argument("--retention-days", type=float, default=30.0, help="delete data older than this")
    server.add_argument("--flush-interval", type=float, default=0.25, help="max seconds before a flush")
    server.add_argument("--memory-limit", default="128MB", help="DuckDB memory limit")
    server.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    server.add_argument(
        "--summary-workers", type=int, default=1,
        help="helper processes that compute part of each page of trace summaries (default 1; 0: none)",
    )  # fmt: skip
    server.add_argument(
        "--udp-in-thread", dest="udp_process", action="store_false",
        help="parse UDP in a thread instead of a child process (lower throughput, one process)",
    )  # fmt: skip
    server.set_defaults(func=_server)
    daemon = sub.add_parser("daemon", help="per-host forwarder: UDP in, batches to a central fluoro server")
    from fluoro.forwarder.run import add_arguments as add_daemon_arguments

    add_daemon_arguments(daemon)
    daemon.set_defaults(func=_daemon)
    demo = sub.add_parser("demo", help="start a server, trace a sample app, read the traces back")
    from fluoro.demo.run import add_arguments

    add_arguments(demo)
    demo.set_defaults(func=_demo)
    local = sub.add_parser("local", help="run a SAM template's API and functions locally, traced")
    local_sub = local.add_subparsers(dest="local_command", required=True)
    start_api = local_sub.add_parser("start-api", help="serve the template's API Gateway routes and Lambda functions")
    from fluoro.local.cli_args import add_start_api_arguments

    add_start_api_arguments(start_api)
    start_api.set_defaults(func=_local_start_api)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())

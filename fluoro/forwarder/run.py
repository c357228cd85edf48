"""``fluoro daemon`` arguments and its foreground run (stops cleanly on SIGINT/SIGTERM)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--central", required=True, help="central fluoro server, e.g. http://fluoro.internal:2000"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=2000, help="UDP and TCP port number (default 2000)")
    parser.add_argument(
        "--buffer-mb", type=float, default=16.0, help="memory bound of the buffer; oldest dropped"
    )
    parser.add_argument("--batch", type=int, default=100, help="documents per PutTraceSegments call")
    parser.add_argument("--flush-interval", type=float, default=0.2, help="max seconds a document waits")
    parser.add_argument("--backoff-max", type=float, default=10.0, help="longest wait between retries")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])


def run(args: argparse.Namespace) -> int:
    from fluoro.forwarder.daemon import Forwarder, ForwarderConfig

    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.batch < 1 or args.buffer_mb <= 0:
        print("fluoro daemon: --batch and --buffer-mb must be positive", file=sys.stderr)
        return 2
    config = ForwarderConfig(
        central=args.central, host=args.host, port=args.port, buffer_bytes=int(args.buffer_mb * 1024 * 1024),
        batch_docs=args.batch, flush_interval=args.flush_interval, backoff_max=args.backoff_max,
    )  # fmt: skip
    try:
        forwarder = Forwarder(config)
    except ValueError as exc:
        print(f"fluoro daemon: {exc}", file=sys.stderr)
        return 2
    forwarder.start()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    forwarder.stop()
    return 0

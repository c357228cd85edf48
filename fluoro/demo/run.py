"""Start a fluoro server on the embedded store, trace a small app with the fluoro SDK,
and read the traces back through the X-Ray API with boto3, as the AWS console would."""

from __future__ import annotations

import argparse
import logging
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path


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
    parser.add_argument("--requests", type=int, default=5, help="requests to send through the app")
    parser.add_argument("--store", default=str(Path(".fluoro") / "demo.duckdb"),
                        help="DuckDB file for the demo's traces (default .fluoro/demo.duckdb)")
    parser.add_argument("--port", type=int, default=0, help="server port (default: a free one)")
    parser.add_argument("--keep-running", action="store_true", help="leave the server running until Ctrl-C")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fluoro demo", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    console = Console(width=None if sys.stdout.isatty() else 130)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = args.port or _free_port()
    endpoint = "http://127.0.0.1:%d" % port
    Path(args.store).parent.mkdir(parents=True, exist_ok=True)
    console.rule("[bold]fluoro demo")
    console.print("1. fluoro server on UDP+TCP 127.0.0.1:%d, embedded DuckDB store %s" % (port, args.store))
    server = subprocess.Popen(
        [sys.executable, "-m", "fluoro.cli", "server", "--port", str(port), "--store", args.store,
         "--log-level", "warning"])
    moto = None
    try:
        _wait_healthy(endpoint, server)
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

        console.print("2. DynamoDB and S3 emulated by moto on loopback")
        from moto.server import ThreadedMotoServer

        moto_port = _free_port()
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
        moto.start()
        aws_endpoint = "http://127.0.0.1:%d" % moto_port

        import boto3

        from fluoro.core import patch_all, xray_recorder
        from fluoro.demo.app import handle_request

        dynamodb = boto3.client("dynamodb", endpoint_url=aws_endpoint)
        s3 = boto3.client("s3", endpoint_url=aws_endpoint)
        table, bucket = "xray-sample-users-table", "xray-sample-user-files"
        dynamodb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                              AttributeDefinitions=[{"AttributeName": "userId", "AttributeType": "S"}],
                              KeySchema=[{"AttributeName": "userId", "KeyType": "HASH"}])
        s3.create_bucket(Bucket=bucket)

        # The article's set-up: configure the recorder, then patch_all() for boto3.
        xray_recorder.configure(service="user-service", daemon_address="127.0.0.1:%d" % port, sampling=False)
        patch_all()
        run_id = uuid.uuid4().hex[:12]

        console.print("3. %d requests through the instrumented app (the last one writes to a missing bucket)"
                      % args.requests)
        for i in range(args.requests):
            target = bucket if i < args.requests - 1 else "no-such-bucket"
            handle_request(dynamodb, s3, table, target, "user%d" % i, run_id)

        console.print("4. reading back through the X-Ray API with boto3 (endpoint_url=%s)" % endpoint)
        from fluoro.demo.show import show_traces

        # Reading is not part of the traced app: no segment is open, and that is expected.
        xray_recorder.configure(context_missing="IGNORE_ERROR")
        logging.getLogger("fluoro.core").setLevel(logging.ERROR)

        show_traces(console, endpoint, expected=args.requests, run_id=run_id)
        if not args.keep_running:
            console.print("\nThe server stops now; `.venv/bin/fluoro demo --keep-running` keeps it up.")
        console.print("With the server up, read the same traces with the AWS CLI:\n"
                      "  aws xray get-trace-summaries --endpoint-url %s --region us-east-1 "
                      "--start-time $(($(date +%%s)-600)) --end-time $(date +%%s)" % endpoint)
        if args.keep_running:
            console.print("Server running on %s; Ctrl-C to stop." % endpoint)
            server.wait()
        return 0
    finally:
        if moto is not None:
            moto.stop()
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()

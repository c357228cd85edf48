"""Helpers for server tests: free ports, real clients, fixtures, subprocess servers."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from fluoro.daemon.pipeline import PipelineConfig
from fluoro.server import FluoroServer, ServerConfig

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(os.environ.get("FLUORO_FIXTURES", REPO.parent / "shared" / "fixtures" / "xray"))
HEADER = b'{"format":"json","version":1}\n'


def free_port() -> int:
    """A port number free for both TCP and UDP on 127.0.0.1."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port")


def load_fixture(*parts: str) -> Any:
    return json.loads((FIXTURES.joinpath(*parts)).read_text())


def xray_client(port: int) -> Any:
    return boto3.client(
        "xray",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}),
    )


def start_server(store: str = "memory", **pipeline: Any) -> FluoroServer:
    config = ServerConfig(
        port=0, store=store, log_level="warning", pipeline=PipelineConfig(**{"flush_interval": 0.05, **pipeline})
    )
    return FluoroServer(config).start_in_thread()


def send_udp(port: int, payloads: list[bytes], header: bytes = HEADER) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for payload in payloads:
            sock.sendto(header + payload, ("127.0.0.1", port))


def wait_for(predicate: Any, timeout: float = 20.0, interval: float = 0.05) -> Any:
    """Poll until ``predicate()`` is truthy; a deadline, not a timed assertion."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def spawn_server(port: int, store: str, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "fluoro.cli", "server", "--port", str(port), "--store", store,
         "--log-level", "warning", *extra],
        cwd=str(REPO), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    import httpx

    def ready() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stdout.read().decode() if proc.stdout else ''}")
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    if not wait_for(ready, timeout=30):
        proc.kill()
        raise RuntimeError("server did not become ready")
    return proc

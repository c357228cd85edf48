"""A throwaway ``clickhouse-server`` process: tests, benchmarks and local trials.

It runs from the distribution's package (Debian's ``clickhouse-server``, or a
``clickhouse`` multi-call binary) with a config generated under a private
directory: its own data path, free loopback ports, no system-wide service.
Several sandboxes can form one cluster (``remote_servers``) to try shards.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

CLUSTER = "fluoro_test"


def server_command() -> list[str] | None:
    """How to start a server here, or None when ClickHouse is not installed."""
    for path in ("/usr/bin/clickhouse-server", "/usr/sbin/clickhouse-server"):
        if os.access(path, os.X_OK):
            return [path]
    found = shutil.which("clickhouse-server")
    if found:
        return [found]
    multi = shutil.which("clickhouse")
    if multi:
        return [multi, "server"]
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


_USERS = """<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
  <users><default><password></password>
    <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
"""


def _config(root: Path, tcp: int, http: int, shards: list[int]) -> str:
    """Server config; ``<yandex>`` is the root element old and current servers both read."""
    cluster = "".join(
        f"<shard><replica><host>127.0.0.1</host><port>{p}</port></replica></shard>" for p in shards
    )
    d = escape(str(root))
    return f"""<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>{d}/server.log</log><errorlog>{d}/error.log</errorlog><console>0</console></logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>{tcp}</tcp_port>
  <http_port>{http}</http_port>
  <path>{d}/data/</path>
  <tmp_path>{d}/tmp/</tmp_path>
  <user_files_path>{d}/user_files/</user_files_path>
  <format_schema_path>{d}/format_schemas/</format_schema_path>
  <users_config>{d}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <max_concurrent_queries>64</max_concurrent_queries>
  <remote_servers><{CLUSTER}>{cluster}</{CLUSTER}></remote_servers>
</yandex>
"""


@dataclass
class ClickHouseSandbox:
    """One server; ``start()`` returns once it answers on its native port."""

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="fluoro-ch-")))
    tcp_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    # Native ports of every shard of the ``fluoro_test`` cluster (default: this server alone).
    cluster_ports: list[int] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None

    def url(self, database: str, **params: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return f"clickhouse://127.0.0.1:{self.tcp_port}/{database}" + (f"?{query}" if query else "")

    def start(self, timeout: float = 60.0) -> ClickHouseSandbox:
        command = server_command()
        if command is None:
            raise FileNotFoundError("clickhouse-server is not installed")
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "users.xml").write_text(_USERS)
        ports = self.cluster_ports or [self.tcp_port]
        (self.root / "config.xml").write_text(_config(self.root, self.tcp_port, self.http_port, ports))
        log = open(self.root / "stdout.log", "ab")
        self.proc = subprocess.Popen(
            [*command, f"--config-file={self.root / 'config.xml'}"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=str(self.root),
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"clickhouse-server exited ({self.proc.returncode}): {self.error_log()}")
            if self.ping():
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"clickhouse-server did not answer within {timeout:.0f} s: {self.error_log()}")

    def ping(self) -> bool:
        from clickhouse_driver import Client
        from clickhouse_driver.errors import Error

        try:  # a plain connect first: the driver logs a traceback for every refused attempt
            socket.create_connection(("127.0.0.1", self.tcp_port), timeout=1).close()
        except OSError:
            return False
        client = Client("127.0.0.1", port=self.tcp_port, connect_timeout=1, send_receive_timeout=5)
        try:
            client.execute("SELECT 1")
            return True
        except (Error, OSError, EOFError):
            return False
        finally:
            client.disconnect()

    def error_log(self) -> str:
        path = self.root / "error.log"
        return path.read_text()[-2000:] if path.exists() else ""

    def stop(self, timeout: float = 30.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

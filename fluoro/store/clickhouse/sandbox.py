"""A throwaway ``clickhouse-server`` process: tests, benchmarks and local trials.

It runs from the distribution's package (Debian's ``clickhouse-server``, or a
``clickhouse`` multi-call binary) with a config generated under a private
directory: its own data path, free loopback ports, no system-wide service.
Several sandboxes can form one cluster (``remote_servers``) to try shards,
and, with a ``ZooKeeperSandbox`` (Debian's ``zookeeper`` package), replicas.
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
from typing import Callable
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


def _spawn(command: list[str], root: Path) -> subprocess.Popen[bytes]:
    """Start ``command`` in ``root``, its output going to ``root/stdout.log``."""
    with open(root / "stdout.log", "ab") as log:
        return subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=str(root)
        )


def _await(proc: subprocess.Popen[bytes], name: str, ready: Callable[[], bool], log: Callable[[], str],
           give_up: Callable[[], None], timeout: float) -> None:  # fmt: skip
    """Poll ``ready`` until it holds; a process that exits or never answers raises with its log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited ({proc.returncode}): {log()}")
        if ready():
            return
        time.sleep(0.1)
    give_up()
    raise RuntimeError(f"{name} did not answer within {timeout:.0f} s: {log()}")


_USERS = """<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
  <users><default><password></password>
    <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
"""


def _config(root: Path, tcp: int, http: int, interserver: int, shards: list[list[int]], zookeeper: int | None,
            macros: dict[str, str]) -> str:  # fmt: skip
    """Server config; ``<yandex>`` is the root element old and current servers both read."""
    # Replicas of a shard copy each other through ZooKeeper, so a Distributed insert (none
    # here: fluoro writes the local tables) must not write to each one itself.
    internal = "<internal_replication>true</internal_replication>" if zookeeper else ""
    cluster = "".join(
        f"<shard>{internal}"
        + "".join(f"<replica><host>127.0.0.1</host><port>{p}</port></replica>" for p in replicas)
        + "</shard>"
        for replicas in shards
    )
    extra = ""
    if zookeeper:
        extra += f"<zookeeper><node><host>127.0.0.1</host><port>{zookeeper}</port></node></zookeeper>"
    if macros:
        extra += "<macros>" + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in macros.items()) + "</macros>"
    d = escape(str(root))
    return f"""<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>{d}/server.log</log><errorlog>{d}/error.log</errorlog><console>0</console></logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>{tcp}</tcp_port>
  <http_port>{http}</http_port>
  <interserver_http_port>{interserver}</interserver_http_port>
  <interserver_http_host>127.0.0.1</interserver_http_host>
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
  {extra}
</yandex>
"""


@dataclass
class ClickHouseSandbox:
    """One server; ``start()`` returns once it answers on its native port."""

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="fluoro-ch-")))
    tcp_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    # Replicas fetch parts from each other over this port.
    interserver_port: int = field(default_factory=free_port)
    # Native ports of every shard of the ``fluoro_test`` cluster (default: this server alone).
    cluster_ports: list[int] = field(default_factory=list)
    # Or the whole layout: the native ports of each shard's replicas.
    cluster_shards: list[list[int]] = field(default_factory=list)
    # A ZooKeeper client port (replicated tables) and this node's macros ({shard}, {replica}).
    zookeeper_port: int | None = None
    macros: dict[str, str] = field(default_factory=dict)
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
        shards = self.cluster_shards or [[p] for p in (self.cluster_ports or [self.tcp_port])]
        config = _config(
            self.root,
            self.tcp_port,
            self.http_port,
            self.interserver_port,
            shards,
            self.zookeeper_port,
            self.macros,
        )
        (self.root / "config.xml").write_text(config)
        self.proc = _spawn([*command, f"--config-file={self.root / 'config.xml'}"], self.root)
        _await(self.proc, "clickhouse-server", self.ping, self.error_log, self.stop, timeout)
        return self

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


def zookeeper_command() -> list[str] | None:
    """How to start Debian's ZooKeeper in the foreground, or None when it is not installed."""
    jar = "/usr/share/java/zookeeper.jar"
    java = shutil.which("java")
    if java is None or not os.path.exists(jar):
        return None
    return [java, "-Xmx256m", "-Dzookeeper.admin.enableServer=false", "-cp", f"/etc/zookeeper/conf:{jar}",
            "org.apache.zookeeper.server.ZooKeeperServerMain"]  # fmt: skip


@dataclass
class ZooKeeperSandbox:
    """A standalone ZooKeeper on a free loopback port, for replicated tables."""

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="fluoro-zk-")))
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> ZooKeeperSandbox:
        command = zookeeper_command()
        if command is None:
            raise FileNotFoundError("ZooKeeper is not installed")
        (self.root / "data").mkdir(parents=True, exist_ok=True)
        (self.root / "zoo.cfg").write_text(
            f"tickTime=2000\ndataDir={self.root / 'data'}\nclientPort={self.port}\n"
            "clientPortAddress=127.0.0.1\nadmin.enableServer=false\n4lw.commands.whitelist=ruok\n"
        )
        self.proc = _spawn([*command, str(self.root / "zoo.cfg")], self.root)
        _await(self.proc, "ZooKeeper", self.ruok, self.log, self.cleanup, timeout)
        return self

    def ruok(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"ruok")
                return sock.recv(4) == b"imok"
        except OSError:
            return False

    def log(self) -> str:
        path = self.root / "stdout.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def cleanup(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)

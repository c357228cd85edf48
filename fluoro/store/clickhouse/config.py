"""ClickHouse backend settings, read from ``clickhouse://[user[:password]@]host[:port]/database[?options]``."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlparse


@dataclass(frozen=True)
class ClickHouseConfig:
    host: str = "127.0.0.1"
    port: int = 9000
    database: str = "fluoro"
    user: str = "default"
    password: str = ""
    # A ``remote_servers`` cluster name: tables become ``*_local`` shards behind
    # ``Distributed`` tables; each fluoro server writes to the node it connects to.
    cluster: str | None = None
    # Create the trace tables as ``ReplicatedMergeTree`` (needs ZooKeeper or ClickHouse
    # Keeper and the ``{shard}``/``{replica}`` macros on every node).
    replicated: bool = False
    # ``host:port`` (native protocol) of the node holding configuration shared by every
    # server (sampling rules, groups, leases).  Default: the node this server connects to,
    # or on a cluster its first shard's first replica, so all servers agree without setup.
    config_host: str | None = None
    # Connections kept for concurrent readers (the writer has its own).
    pool_size: int = 4
    connect_timeout: float = 5.0
    send_receive_timeout: float = 60.0
    # How long a write waits out an unreachable server before the batch fails.
    write_retry_seconds: float = 120.0

    @classmethod
    def from_url(cls, url: str) -> ClickHouseConfig:
        parsed = urlparse(url)
        if parsed.scheme != "clickhouse":
            raise ValueError(f"not a clickhouse:// URL: {url!r}")
        database = parsed.path.strip("/") or "fluoro"
        if not database.replace("_", "").isalnum():
            raise ValueError(f"database name must be letters, digits and '_': {database!r}")
        options = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        unknown = set(options) - {"cluster", "pool_size", "write_retry_seconds", "replicated", "config_host"}
        if unknown:
            raise ValueError(f"unknown clickhouse URL option(s): {', '.join(sorted(unknown))}")
        cluster = options.get("cluster") or None
        if cluster is not None and not cluster.replace("_", "").isalnum():
            raise ValueError(f"cluster name must be letters, digits and '_': {cluster!r}")
        replicated = options.get("replicated", "0").lower()
        if replicated not in ("0", "1", "true", "false"):
            raise ValueError(f"replicated must be 0, 1, true or false: {replicated!r}")
        config_host = options.get("config_host") or None
        if config_host is not None:
            split_host(config_host)
        return cls(
            host=parsed.hostname or "127.0.0.1",
            port=parsed.port or 9000,
            database=database,
            user=unquote(parsed.username) if parsed.username else "default",
            password=unquote(parsed.password) if parsed.password else "",
            cluster=cluster,
            replicated=replicated in ("1", "true"),
            config_host=config_host,
            pool_size=int(options.get("pool_size", 4)),
            write_retry_seconds=float(options.get("write_retry_seconds", 120.0)),
        )


def split_host(text: str) -> tuple[str, int]:
    """``host:port`` (``[v6]:port``) → (host, port); the port is required."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"config_host must be host:port (the native protocol port): {text!r}")
    return host.strip("[]"), int(port)

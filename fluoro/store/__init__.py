"""Trace stores behind one contract (``api.Store``); ``open_store`` picks one from a spec.

Backends are imported lazily so a ClickHouse deployment never loads DuckDB
and vice versa.
"""

from __future__ import annotations

import os
from urllib.parse import urlparse

from fluoro.store.api import Store


def default_path() -> str:
    """``$XDG_DATA_HOME/fluoro/traces.duckdb`` (``~/.local/share`` when unset)."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "fluoro", "traces.duckdb")


def open_store(spec: str | None = None, memory_limit: str = "128MB") -> Store:
    """Open ``spec``: None (default file), ``memory``, a file path, or ``duckdb://``/``clickhouse://`` URL."""
    if spec is not None and spec.startswith("clickhouse://"):
        from fluoro.store.clickhouse import ClickHouseConfig, ClickHouseStore

        return ClickHouseStore(ClickHouseConfig.from_url(spec))
    from fluoro.store.duckdb import DuckDBConfig, DuckDBStore

    if spec is None or spec == "":
        return DuckDBStore(DuckDBConfig(path=default_path(), memory_limit=memory_limit))
    if spec == "memory":
        return DuckDBStore(DuckDBConfig(path=":memory:", memory_limit=memory_limit))
    if "://" in spec:
        url = urlparse(spec)
        if url.scheme == "duckdb":
            path = (url.netloc + url.path) or ":memory:"
            return DuckDBStore(DuckDBConfig(path=path, memory_limit=memory_limit))
        raise ValueError(f"unsupported store URL scheme {url.scheme!r} (supported: duckdb, clickhouse, memory, a file path)")
    return DuckDBStore(DuckDBConfig(path=os.path.expanduser(spec), memory_limit=memory_limit))


__all__ = ["Store", "default_path", "open_store"]

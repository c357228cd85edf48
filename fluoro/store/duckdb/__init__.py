"""Embedded DuckDB trace store (the default backend)."""

from fluoro.store.duckdb.config import DuckDBConfig
from fluoro.store.duckdb.store import DuckDBStore

__all__ = ["DuckDBConfig", "DuckDBStore"]

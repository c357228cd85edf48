"""DuckDB backend settings; defaults fit a small machine next to the apps it traces."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DuckDBConfig:
    path: str = ":memory:"
    memory_limit: str = "192MB"
    threads: int = 2
    # Documents per compressed chunk: bigger compresses better, smaller reads faster.
    chunk_docs: int = 128

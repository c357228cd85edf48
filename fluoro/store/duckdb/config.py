"""DuckDB backend settings; defaults fit a small machine next to the apps it traces."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DuckDBConfig:
    path: str = ":memory:"
    memory_limit: str = "128MB"
    threads: int = 2
    # Run DuckDB with one thread while the host's CPUs are nearly all busy (threads.py).
    adapt_threads: bool = True
    # Documents per compressed chunk: bigger compresses better, smaller reads faster.
    chunk_docs: int = 128  # documents per chunk before the file has a zstd dictionary
    # And after (doc_dicts.py).  64 instead of 32 (session 9): 148-149 instead of 150-151 B per
    # segment on disk, a search page of 100 traces 5-7 ms slower (1 M segments).
    dict_chunk_docs: int = 64
    # Checkpoints run on their own thread every ``checkpoint_every`` seconds, so a
    # commit never waits for one (an inline checkpoint stalls ingest for up to ~1 s).
    # The threshold is only the safety net for an automatic, inline checkpoint.
    checkpoint_every: float = 2.0
    # Rows per row group (store._connect): smaller groups keep checkpoints short under ingest
    # (with DuckDB's default, 122,880, they took up to 1.35 s at 25,000 segments/s); half of it
    # costs +0.3 B/segment on disk.
    row_group_size: int = 61_440
    checkpoint_threshold: str = "256MB"
    # The trace summarizer (trace_table.py) runs every ``summarize_every`` seconds (0: never;
    # trace searches then aggregate segments live), at most ``summarize_segments`` per cycle.
    summarize_every: float = 1.0
    summarize_segments: int = 100_000

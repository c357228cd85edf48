"""Trained zstd dictionaries for document chunks.

A system's segment documents repeat the same keys, names and shapes.  zstd
finds that repetition only inside one compressed chunk, so chunks had to be
large (128 documents) to compress well, and reading one trace decompressed
all of them.  A dictionary trained on earlier documents carries the
repetition instead: chunks of 32 documents then compress as well as 128 did
without one, and a read decompresses a quarter as much.

The writer trains the first dictionary once it has seen ``TRAIN_BYTES`` of
documents (until then chunks are plain zstd, as files written before
dictionaries existed are) and trains a new one every ``RETRAIN_DOCS``
documents so it follows the traffic.  Each chunk names its dictionary;
dictionaries are never deleted (a few kilobytes each).
"""

from __future__ import annotations

import threading
from typing import Callable

import duckdb
import zstandard

DICT_SIZE = 16 * 1024
TRAIN_BYTES = 1 << 20
TRAIN_MIN_DOCS = 500
RETRAIN_DOCS = 1_000_000
# Speed over the last few percent: the writer compresses every document it stores.
LEVEL = 1


class ChunkCompressor:
    """The writer's side: compresses chunks, trains dictionaries.  One writer thread only."""

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        row = conn.execute("SELECT dict, data FROM zstd_dicts ORDER BY dict DESC LIMIT 1").fetchone()
        self.dict_id: int | None = None
        self._compressor: zstandard.ZstdCompressor | None = None
        if row is not None:
            self._use(int(row[0]), bytes(row[1]))
        # A trained dictionary not yet committed: written with every batch until one commits.
        self.unsaved: tuple[int, bytes] | None = None
        self._sample: list[bytes | bytearray | memoryview] = []
        self._sample_bytes = 0
        self._since_trained = 0

    def _use(self, dict_id: int, data: bytes) -> None:
        self.dict_id = dict_id
        self._compressor = zstandard.ZstdCompressor(level=LEVEL, dict_data=zstandard.ZstdCompressionDict(data))

    def observe(self, count: int, docs: Callable[[], list[bytes]]) -> None:
        """Feed a batch of ``count`` documents; trains a dictionary when it is time (before the
        batch is compressed).  ``docs`` lists them, called only when they are sampled."""
        self._since_trained += count
        if self.dict_id is not None and self._since_trained < RETRAIN_DOCS:
            return
        for doc in docs():
            if self._sample_bytes >= TRAIN_BYTES:
                break
            self._sample.append(doc)
            self._sample_bytes += len(doc)
        if self._sample_bytes < TRAIN_BYTES or len(self._sample) < TRAIN_MIN_DOCS:
            return
        try:
            trained = zstandard.train_dictionary(DICT_SIZE, self._sample).as_bytes()
        except zstandard.ZstdError:  # samples too uniform or too few: try again on the next ones
            trained = None
        self._sample, self._sample_bytes = [], 0
        if trained is None:
            return
        self._since_trained = 0
        self.unsaved = ((self.dict_id or 0) + 1, trained)
        self._use(*self.unsaved)

    def committed(self) -> None:
        self.unsaved = None

    def compress(self, raw: bytes) -> bytes:
        assert self._compressor is not None
        return self._compressor.compress(raw)  # type: ignore[no-any-return]


class Decompressors:
    """The readers' side: a decompressor per dictionary, loaded on first use, per thread
    (zstandard's objects are not shared between threads)."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._dicts: dict[int, zstandard.ZstdCompressionDict] = {}
        self._lock = threading.Lock()

    def decompress(self, conn: duckdb.DuckDBPyConnection, dict_id: int, data: bytes, raw_size: int) -> bytes:
        cache: dict[int, zstandard.ZstdDecompressor] | None = getattr(self._local, "cache", None)
        if cache is None:
            cache = self._local.cache = {}
        decompressor = cache.get(dict_id)
        if decompressor is None:
            decompressor = cache[dict_id] = zstandard.ZstdDecompressor(dict_data=self._dict(conn, dict_id))
        return decompressor.decompress(data, max_output_size=raw_size)  # type: ignore[no-any-return]

    def _dict(self, conn: duckdb.DuckDBPyConnection, dict_id: int) -> zstandard.ZstdCompressionDict:
        with self._lock:
            found = self._dicts.get(dict_id)
            if found is None:
                row = conn.execute("SELECT data FROM zstd_dicts WHERE dict = ?", [dict_id]).fetchone()
                if row is None:
                    raise LookupError(f"zstd dictionary {dict_id} is missing")
                found = self._dicts[dict_id] = zstandard.ZstdCompressionDict(bytes(row[0]))
            return found

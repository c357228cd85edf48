"""Bulk appends: one Arrow table per flush, documents compressed in chunks.

Called from the single writer thread only; the whole batch commits in one
transaction, so an acknowledged batch survives a crash (DuckDB's WAL).
"""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from fluoro.store.api import trace_key
from fluoro.store.columns import ArrowBatch, binary_array
from fluoro.store.doc_markers import pack_table
from fluoro.store.duckdb.doc_dicts import ChunkCompressor
from fluoro.store.duckdb.doc_files import DocFiles
from fluoro.store.duckdb.trace_table import trace_id

_COLUMNS = ", ".join(
    f'"{c}"'
    for c in (
        "trace_key", "id", "parent_id", "is_sub", "in_progress", "trace_time", "start_time", "end_time",
        "received", "name", "origin", "fault", "error", "throttle", "any_throttle", "http_method",
        "http_url", "http_status", "user_agent", "client_ip", "user", "chunk", "off", "len",
        "chunk_raw", "chunk_dict", "chunk_file", "chunk_pos", "chunk_size",
    )
)  # fmt: skip
# The batch carries the trace id as text; the table keeps only its first 32 random bits
# (``hi``): trace_time and trace_key hold the rest.
_HI = "('0x' || substr(trace_id, 12, 8))::UINTEGER"


class ChunkWriter:
    def __init__(
        self, conn: duckdb.DuckDBPyConnection, chunk_docs: int, dict_chunk_docs: int, files: DocFiles | None
    ) -> None:
        self.conn = conn
        self.files = files  # None: chunks inline (an in-memory store)
        self.chunk_docs = chunk_docs  # per chunk while there is no dictionary yet
        self.dict_chunk_docs = dict_chunk_docs
        self.compressor = ChunkCompressor(conn)
        row = conn.execute("SELECT max(chunk) FROM chunks").fetchone()
        self.next_chunk = int(row[0]) + 1 if row and row[0] is not None else 0
        row = conn.execute("SELECT count(*) FROM segments WHERE in_progress").fetchone()
        self.in_progress_stored = bool(row and row[0])

    def write(self, batch: ArrowBatch) -> None:
        seg = batch.segments
        has_progress = bool(pc.any(seg["in_progress"]).as_py())
        if has_progress:
            seg = seg.filter(pa.array(self._superseded_mask(seg)))
        # A trace's documents usually arrive in one flush; sorted, they share a chunk,
        # so reading a trace decompresses one chunk instead of one per document.
        seg = seg.take(pc.sort_indices(seg, [("trace_id", "ascending")]))
        # Random ids and timestamps are the least compressible bytes of a document, and
        # the columns already hold them: one-byte markers instead (doc_markers), unless
        # the UDP receiver process packed them already.
        docs: pa.BinaryArray = seg["doc"].combine_chunks() if batch.packed else binary_array(pack_table(seg))
        # Chunks are slices of the column's value buffer: no Python object per document.
        n = len(docs)
        _, offsets_buffer, values = docs.buffers()
        offsets = pa.Array.from_buffers(pa.int32(), n + 1, [None, offsets_buffer], offset=docs.offset)
        bounds: list[int] = offsets.to_pylist()  # into ``values``
        received: list[float] = seg["received"].to_pylist()
        chunk_rows: dict[str, list[Any]] = {"chunk": [], "received": [], "raw_size": [], "dict": [], "data": []}
        blobs: list[bytes] = chunk_rows["data"]
        compressor = self.compressor
        compressor.observe(n, docs.to_pylist)
        dict_id = compressor.dict_id
        step = self.chunk_docs if dict_id is None else self.dict_chunk_docs
        first_chunk = self.next_chunk
        for start in range(0, n, step):
            chunk = self.next_chunk
            self.next_chunk += 1
            end = min(n, start + step)
            raw = values[bounds[start] : bounds[end]] if values is not None else b""
            chunk_rows["chunk"].append(chunk)
            chunk_rows["received"].append(max(received[start:end]))
            chunk_rows["raw_size"].append(bounds[end] - bounds[start])
            chunk_rows["dict"].append(dict_id)
            chunk_rows["data"].append(
                pa.compress(raw, codec="zstd", asbytes=True) if dict_id is None else compressor.compress(raw)
            )
        # Where each chunk's bytes are: in the files beside the database, durable before the
        # transaction that references them commits (doc_files), or inline (in-memory stores).
        count = len(blobs)
        number: int | None = None
        positions: list[int] | list[None] = [None] * count
        outside = False
        if self.files is not None and count:
            number, positions = self.files.append(blobs)
            outside = True
        place = {
            "raw_size": pa.array(chunk_rows["raw_size"], pa.int32()),
            "dict": pa.array(chunk_rows["dict"], pa.int32()),
            "file": pa.array([number] * count, pa.int32()),
            "pos": pa.array(positions, pa.int64()),
            "size": pa.array([len(b) for b in blobs] if outside else [None] * count, pa.int32()),
        }
        # Row i is in the batch's chunk i // step.
        of_chunk = pc.divide(pa.array(range(n), pa.int32()), pa.scalar(step, pa.int32()))
        seg_tbl = seg.drop_columns(["doc"]).append_column(
            "chunk", pc.add(of_chunk.cast(pa.int64()), pa.scalar(first_chunk, pa.int64()))
        )
        # Each document's offset in its chunk: where it starts less where its chunk starts.
        starts = offsets.slice(0, n)
        chunk_starts = pc.take(starts, pc.multiply(of_chunk, pa.scalar(step, pa.int32())))
        seg_tbl = seg_tbl.append_column("off", pc.subtract(starts, chunk_starts))
        seg_tbl = seg_tbl.append_column("len", pc.binary_length(docs))
        # Each row also names where its chunk's bytes are, so a read needs no second query
        # (per-chunk values repeat for the chunk's consecutive rows: they cost next to nothing).
        for column, name in (("chunk_raw", "raw_size"), ("chunk_dict", "dict"), ("chunk_file", "file"),
                             ("chunk_pos", "pos"), ("chunk_size", "size")):  # fmt: skip
            seg_tbl = seg_tbl.append_column(column, place[name].take(of_chunk))
        chunk_tbl = pa.table({
            "chunk": pa.array(chunk_rows["chunk"], pa.int64()),
            "received": pa.array(chunk_rows["received"], pa.float64()),
            **place,
            "data": pa.nulls(count, pa.binary()) if outside else pa.array(blobs, pa.binary()),
        })  # fmt: skip
        ann_tbl = batch.annotations
        conn = self.conn
        conn.execute("BEGIN TRANSACTION")
        try:
            conn.register("_seg_batch", seg_tbl)
            conn.register("_chunk_batch", chunk_tbl)
            conn.register("_ann_batch", ann_tbl)
            if self.in_progress_stored:
                # A complete document replaces the stored in-progress version.
                conn.execute(
                    "DELETE FROM segments s WHERE s.in_progress AND EXISTS (SELECT 1 FROM _seg_batch b"
                    f" WHERE NOT b.in_progress AND b.trace_key = s.trace_key AND b.id = s.id AND {_HI} = s.hi"
                    " AND b.trace_time = s.trace_time)"
                )
            conn.execute(f"INSERT INTO segments (hi, {_COLUMNS}) SELECT {_HI}, {_COLUMNS} FROM _seg_batch")
            if compressor.unsaved is not None:
                conn.execute("INSERT INTO zstd_dicts VALUES (?, ?)", list(compressor.unsaved))
            conn.execute(
                "INSERT INTO chunks (chunk, received, raw_size, dict, file, pos, size, data)"
                " SELECT chunk, received, raw_size, dict, file, pos, size, data FROM _chunk_batch"
            )
            if ann_tbl.num_rows:
                conn.execute("INSERT INTO annotations SELECT trace_key, trace_time, received, key, s, n, b FROM _ann_batch")
            conn.execute("COMMIT")
            compressor.committed()
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        finally:
            for name in ("_seg_batch", "_chunk_batch", "_ann_batch"):
                conn.unregister(name)
        self.in_progress_stored = self.in_progress_stored or has_progress

    def _superseded_mask(self, seg: pa.Table) -> list[bool]:
        """Drop in-progress documents whose complete version is already known."""
        trace_ids: list[str] = seg["trace_id"].to_pylist()
        ids: list[str] = seg["id"].to_pylist()
        flags: list[bool] = seg["in_progress"].to_pylist()
        times: list[int] = seg["trace_time"].to_pylist()
        n = len(ids)
        keep = [True] * n
        progress = [i for i in range(n) if flags[i]]
        complete = {(trace_ids[i], ids[i]) for i in range(n) if not flags[i]}
        rows = self.conn.execute(
            "SELECT trace_time, hi, trace_key, id FROM segments WHERE NOT in_progress"
            " AND list_contains(?, trace_time) AND list_contains(?, trace_key)",
            [sorted({times[i] for i in progress}), sorted({trace_key(trace_ids[i]) for i in progress})],
        ).fetchall()
        complete.update((trace_id(int(t), int(h), int(k)), str(i)) for t, h, k, i in rows)
        for i in progress:
            if (trace_ids[i], ids[i]) in complete:
                keep[i] = False
        return keep

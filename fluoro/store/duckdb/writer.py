"""Bulk appends: one Arrow table per flush, documents compressed in chunks.

Called from the single writer thread only; the whole batch commits in one
transaction, so an acknowledged batch survives a crash (DuckDB's WAL).
"""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa

from fluoro.store.api import SegmentBatch

_SEGMENT_COLUMNS = (
    "trace_id", "id", "parent_id", "is_sub", "in_progress", "trace_time", "start_time", "end_time",
    "received", "name", "origin", "fault", "error", "throttle", "any_throttle", "http_method",
    "http_url", "http_status", "user_agent", "client_ip", "user",
)  # fmt: skip
_TYPES: dict[str, Any] = {
    "is_sub": pa.bool_(), "in_progress": pa.bool_(), "trace_time": pa.int64(),
    "start_time": pa.float64(), "end_time": pa.float64(), "received": pa.float64(),
    "fault": pa.bool_(), "error": pa.bool_(), "throttle": pa.bool_(), "any_throttle": pa.bool_(),
    "http_status": pa.int16(),
}  # fmt: skip


class ChunkWriter:
    def __init__(self, conn: duckdb.DuckDBPyConnection, chunk_docs: int) -> None:
        self.conn = conn
        self.chunk_docs = chunk_docs
        row = conn.execute("SELECT max(chunk) FROM chunks").fetchone()
        self.next_chunk = int(row[0]) + 1 if row and row[0] is not None else 0
        row = conn.execute("SELECT count(*) FROM segments WHERE in_progress").fetchone()
        self.in_progress_stored = bool(row and row[0])

    def write(self, batch: SegmentBatch) -> None:
        keep = self._superseded_mask(batch)
        n = len(batch)
        chunk_ids: list[int] = [0] * n
        offsets: list[int] = [0] * n
        lengths: list[int] = [0] * n
        chunk_rows: dict[str, list[Any]] = {"chunk": [], "received": [], "raw_size": [], "data": []}
        kept = [i for i in range(n) if keep[i]]
        for start in range(0, len(kept), self.chunk_docs):
            part = kept[start : start + self.chunk_docs]
            chunk = self.next_chunk
            self.next_chunk += 1
            pos = 0
            for i in part:
                size = len(batch.doc[i])
                chunk_ids[i], offsets[i], lengths[i] = chunk, pos, size
                pos += size
            raw = b"".join(batch.doc[i] for i in part)
            chunk_rows["chunk"].append(chunk)
            chunk_rows["received"].append(max(batch.received[i] for i in part))
            chunk_rows["raw_size"].append(len(raw))
            chunk_rows["data"].append(pa.compress(raw, codec="zstd", asbytes=True))
        columns: dict[str, Any] = {}
        for name in _SEGMENT_COLUMNS:
            values = getattr(batch, name)
            if len(kept) != n:
                values = [values[i] for i in kept]
            columns[name] = pa.array(values, type=_TYPES.get(name, pa.string()))
        columns["chunk"] = pa.array([chunk_ids[i] for i in kept], type=pa.int64())
        columns["off"] = pa.array([offsets[i] for i in kept], type=pa.int32())
        columns["len"] = pa.array([lengths[i] for i in kept], type=pa.int32())
        seg_tbl = pa.table(columns)
        chunk_tbl = pa.table({
            "chunk": pa.array(chunk_rows["chunk"], pa.int64()),
            "received": pa.array(chunk_rows["received"], pa.float64()),
            "raw_size": pa.array(chunk_rows["raw_size"], pa.int32()),
            "data": pa.array(chunk_rows["data"], pa.binary()),
        })  # fmt: skip
        ann_tbl = pa.table({
            "trace_id": pa.array(batch.ann_trace_id, pa.string()),
            "trace_time": pa.array(batch.ann_trace_time, pa.int64()),
            "received": pa.array([batch.received[0] if n else 0.0] * len(batch.ann_key), pa.float64()),
            "key": pa.array(batch.ann_key, pa.string()),
            "s": pa.array(batch.ann_str, pa.string()),
            "n": pa.array(batch.ann_num, pa.float64()),
            "b": pa.array(batch.ann_bool, pa.bool_()),
        })  # fmt: skip
        has_progress = any(batch.in_progress[i] for i in kept)
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
                    " WHERE NOT b.in_progress AND b.trace_id = s.trace_id AND b.id = s.id)"
                )
            conn.execute("INSERT INTO segments SELECT * FROM _seg_batch")
            conn.execute("INSERT INTO chunks SELECT * FROM _chunk_batch")
            if len(batch.ann_key):
                conn.execute("INSERT INTO annotations SELECT * FROM _ann_batch")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        finally:
            for name in ("_seg_batch", "_chunk_batch", "_ann_batch"):
                conn.unregister(name)
        self.in_progress_stored = self.in_progress_stored or has_progress

    def _superseded_mask(self, batch: SegmentBatch) -> list[bool]:
        """Drop in-progress documents whose complete version is already known."""
        n = len(batch)
        keep = [True] * n
        progress = [i for i in range(n) if batch.in_progress[i]]
        if not progress:
            return keep
        complete = {(batch.trace_id[i], batch.id[i]) for i in range(n) if not batch.in_progress[i]}
        times = sorted({batch.trace_time[i] for i in progress})
        traces = sorted({batch.trace_id[i] for i in progress})
        rows = self.conn.execute(
            "SELECT trace_id, id FROM segments WHERE NOT in_progress AND list_contains(?, trace_time)"
            " AND list_contains(?, trace_id)",
            [times, traces],
        ).fetchall()
        complete.update((str(t), str(i)) for t, i in rows)
        for i in progress:
            if (batch.trace_id[i], batch.id[i]) in complete:
                keep[i] = False
        return keep

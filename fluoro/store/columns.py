"""The Arrow form of a ``SegmentBatch``: what crosses process boundaries and reaches ``write``.

Arrow keeps the hot path out of Python objects: a UDP receiver process
builds these tables once, ships them as IPC bytes (no pickling of millions of
small strings), and the writer hands them to the backend's bulk append.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from itertools import accumulate
from typing import Any, Sequence

import pyarrow as pa

from fluoro.store.api import SegmentBatch

SEGMENT_SCHEMA = pa.schema([
    ("trace_id", pa.string()), ("trace_key", pa.int64()), ("id", pa.string()), ("parent_id", pa.string()),
    ("is_sub", pa.bool_()),
    ("in_progress", pa.bool_()), ("trace_time", pa.int64()), ("start_time", pa.float64()),
    ("end_time", pa.float64()), ("received", pa.float64()), ("name", pa.string()), ("origin", pa.string()),
    ("fault", pa.bool_()), ("error", pa.bool_()), ("throttle", pa.bool_()), ("any_throttle", pa.bool_()),
    ("http_method", pa.string()), ("http_url", pa.string()), ("http_status", pa.int16()),
    ("user_agent", pa.string()), ("client_ip", pa.string()), ("user", pa.string()), ("doc", pa.binary()),
])  # fmt: skip
ANNOTATION_SCHEMA = pa.schema([
    ("trace_id", pa.string()), ("trace_key", pa.int64()), ("trace_time", pa.int64()), ("received", pa.float64()),
    ("key", pa.string()),
    ("s", pa.string()), ("n", pa.float64()), ("b", pa.bool_()),
])  # fmt: skip
_ANN_SOURCES = ("ann_trace_id", "ann_trace_key", "ann_trace_time", "ann_received", "ann_key", "ann_str", "ann_num", "ann_bool")


@dataclass
class ArrowBatch:
    segments: pa.Table
    annotations: pa.Table
    # The ``doc`` column holds documents packed by ``fluoro.store.doc_markers.pack`` (only sent
    # to a store whose capabilities say ``packed_documents``).
    packed: bool = False

    def __len__(self) -> int:
        return int(self.segments.num_rows)

    @property
    def nbytes(self) -> int:
        return int(self.segments.nbytes + self.annotations.nbytes)

    @classmethod
    def from_batch(cls, batch: SegmentBatch) -> ArrowBatch:
        seg = pa.table(
            [pa.array(getattr(batch, f.name), type=f.type) for f in SEGMENT_SCHEMA], schema=SEGMENT_SCHEMA
        )
        ann = pa.table(
            [pa.array(getattr(batch, src), type=f.type) for src, f in zip(_ANN_SOURCES, ANNOTATION_SCHEMA)],
            schema=ANNOTATION_SCHEMA,
        )
        return cls(seg, ann)

    @classmethod
    def from_rows(cls, rows: Sequence[Sequence[Any]], annotation_rows: Sequence[Sequence[Any]]) -> ArrowBatch:
        """Build from row tuples in schema order (``fluoro.ingest.fast``): one C-level transpose per column set."""
        return cls(_table(rows, SEGMENT_SCHEMA), _table(annotation_rows, ANNOTATION_SCHEMA))

    @classmethod
    def concat(cls, parts: Sequence[ArrowBatch]) -> ArrowBatch:
        if len(parts) == 1:
            return parts[0]
        packed = {p.packed for p in parts}
        if len(packed) != 1:
            raise ValueError("cannot concatenate packed and unpacked documents")
        return cls(
            pa.concat_tables([p.segments for p in parts]).combine_chunks(),
            pa.concat_tables([p.annotations for p in parts]).combine_chunks(),
            packed.pop(),
        )

    def to_ipc(self) -> tuple[pa.Buffer, pa.Buffer]:
        """IPC streams of both tables, as buffers (``Connection.send_bytes`` takes them without a copy)."""
        return _ipc(self.segments), _ipc(self.annotations)

    @classmethod
    def from_ipc(cls, segments: Any, annotations: Any, packed: bool = False) -> ArrowBatch:
        return cls(pa.ipc.open_stream(segments).read_all(), pa.ipc.open_stream(annotations).read_all(), packed)


def _table(rows: Sequence[Sequence[Any]], schema: pa.Schema) -> pa.Table:
    columns: Any = zip(*rows) if rows else [() for _ in schema]
    return pa.table(
        [binary_array(values) if f.type == pa.binary() else pa.array(values, type=f.type) for values, f in zip(columns, schema)],
        schema=schema,
    )


def binary_array(values: Sequence[bytes | memoryview]) -> pa.Array:
    """A non-null binary column from bytes or views: one join, where ``pa.array`` costs ~0.3 us per view."""
    data = b"".join(values)
    if len(data) >= 2**31:
        return pa.array(values, type=pa.binary())
    offsets = array("i", [0])
    offsets.extend(accumulate(map(len, values)))
    return pa.Array.from_buffers(pa.binary(), len(values), [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _ipc(table: pa.Table) -> pa.Buffer:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()

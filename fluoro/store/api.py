"""The store contract: what every trace backend (DuckDB, ClickHouse, ...) provides.

Semantics, not mechanics:

- ``TraceWriter.write`` takes an ``ArrowBatch`` (``fluoro.store.columns``: the
  columns of ``SegmentBatch`` as Arrow tables) and is durable before it returns: once it returns, a crash
  does not lose the batch.  Writes are idempotent per (trace_id, id, version):
  the reader resolves duplicates, so retrying a batch is safe.
- ``TraceReader.documents`` returns every stored document of the given traces,
  in no particular order, including superseded in-progress versions; the
  caller (``fluoro.query.assemble``) picks versions and merges subsegments.
  Results are fresh objects the caller may mutate.
- ``TraceReader.find_traces`` pages newest-first through traces matching a
  time range and an optional filter AST.  It evaluates exactly what
  ``fluoro.query.filters.evaluate`` defines (a property test checks DuckDB);
  the query service sends it only the conjuncts its ``Capabilities`` list and
  evaluates the rest on assembled traces.  A backend handed a node it cannot
  evaluate raises ``FilterUnsupported``; it never approximates.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, Sequence

from fluoro.query.filters.ast import Node

if TYPE_CHECKING:
    from fluoro.store.columns import ArrowBatch


def trace_key(trace_id: str) -> int:
    """The last 64 random bits of a (validated) trace id, as a signed 64-bit integer."""
    return int(trace_id[19:], 16) - (1 << 63)


class FilterUnsupported(Exception):
    """The backend cannot evaluate this filter node; the query is refused."""


class TimeRangeType(str, enum.Enum):
    TRACE_ID = "TraceId"
    EVENT = "Event"
    SERVICE = "Service"


@dataclass
class SegmentBatch:
    """Column lists for a batch of validated documents, one row per document.

    Columnar so backends can append in bulk (Arrow, ClickHouse native) without
    touching per-row objects.  ``ann_*`` lists hold one row per annotation.
    """

    trace_id: list[str] = field(default_factory=list)
    # The trace id's last 64 random bits as a signed integer: a cheap equality key.
    trace_key: list[int] = field(default_factory=list)
    id: list[str] = field(default_factory=list)
    parent_id: list[str | None] = field(default_factory=list)
    is_sub: list[bool] = field(default_factory=list)
    in_progress: list[bool] = field(default_factory=list)
    trace_time: list[int] = field(default_factory=list)
    start_time: list[float] = field(default_factory=list)
    end_time: list[float | None] = field(default_factory=list)
    received: list[float] = field(default_factory=list)
    name: list[str] = field(default_factory=list)
    origin: list[str | None] = field(default_factory=list)
    fault: list[bool] = field(default_factory=list)
    error: list[bool] = field(default_factory=list)
    throttle: list[bool] = field(default_factory=list)
    any_throttle: list[bool] = field(default_factory=list)
    http_method: list[str | None] = field(default_factory=list)
    http_url: list[str | None] = field(default_factory=list)
    http_status: list[int | None] = field(default_factory=list)
    user_agent: list[str | None] = field(default_factory=list)
    client_ip: list[str | None] = field(default_factory=list)
    user: list[str | None] = field(default_factory=list)
    doc: list[bytes] = field(default_factory=list)
    ann_trace_id: list[str] = field(default_factory=list)
    ann_trace_key: list[int] = field(default_factory=list)
    ann_trace_time: list[int] = field(default_factory=list)
    ann_received: list[float] = field(default_factory=list)
    ann_key: list[str] = field(default_factory=list)
    ann_str: list[str | None] = field(default_factory=list)
    ann_num: list[float | None] = field(default_factory=list)
    ann_bool: list[bool | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.id)

    def extend(self, other: SegmentBatch) -> None:
        for name, values in vars(other).items():
            getattr(self, name).extend(values)


@dataclass(frozen=True)
class StoredDocument:
    trace_id: str
    id: str
    in_progress: bool
    received: float
    doc: bytes


@dataclass(frozen=True)
class TraceQuery:
    start: float
    end: float
    range_type: TimeRangeType = TimeRangeType.TRACE_ID
    filter: Node | None = None
    limit: int = 100
    # Resume strictly after this (sort_time, trace_id) position, newest first.
    after: tuple[float, str] | None = None


@dataclass(frozen=True)
class TraceHit:
    trace_id: str
    sort_time: float
    matched_event_time: float | None = None


@dataclass
class TracePage:
    hits: list[TraceHit]
    processed: int
    more: bool


@dataclass(frozen=True)
class Capabilities:
    """Filter features the reader evaluates (``fluoro.query.filters.ast.feature``: ``"and"``,
    ``"annotation"``, ``"flag:fault"``, ``"compare:http.url"``, ...); the zero value evaluates none."""

    filter_nodes: frozenset[str] = frozenset()


class TraceWriter(Protocol):
    def write(self, batch: ArrowBatch) -> None: ...


class TraceReader(Protocol):
    def capabilities(self) -> Capabilities: ...

    def documents(self, trace_ids: Sequence[str]) -> list[StoredDocument]: ...

    def find_traces(self, query: TraceQuery) -> TracePage: ...


class Store(TraceWriter, TraceReader, Protocol):
    """A backend: one writer thread calls ``write``; readers may be concurrent."""

    def delete_before(self, received_before: float) -> int: ...

    def stats(self) -> dict[str, float]: ...

    def close(self) -> None: ...

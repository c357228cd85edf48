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
- ``ConfigStore`` (``Store.config_store()``) holds the account configuration:
  sampling rules, groups, their tags, sampling statistics and reservoir quota
  leases.  Several servers may share one backend, so every check-then-write
  (name taken, rule limit, tag limit, quota left) is one atomic operation of
  the store, never a read in one call and a write in the next.
- ``GraphStore`` keeps the service-graph rollup (``fluoro.query.rollup``):
  per-minute statistics per node/edge key, maintained by replacing whole
  traces' contributions, so a trace that arrives piecewise is recounted,
  never double counted.  ``graph_changes(cursor)`` lists the traces that
  received documents in writes after ``cursor``, each with the position of
  its latest write, ordered by that position (positions are opaque,
  monotonically increasing integers the backend chooses: DuckDB's chunk
  id, a ClickHouse insert sequence); ``graph_cursor`` is the position
  stored by the last ``graph_replace``.  ``graph_changes(cursor, limit)`` may stop
  early, after roughly ``limit`` traces (a backend may also list them all): it
  then lists every trace written in a span of positions after ``cursor``, with
  the position of its latest write in that span, so the caller's cursor can move
  to the last position listed and the next call goes on from there.
  ``graph_replace`` atomically swaps the given traces' rows for new ones and
  stores the cursor; calling it twice with the same input is harmless.
  In the same swap it replaces each trace's ``NodeFact`` rows (``fluoro.query.node_facts``:
  the nodes and calls the filter evaluator sees, with their flags), which a
  backend whose ``Capabilities.narrows`` is true uses to honour
  ``TraceQuery.narrow``: a necessary condition (``fluoro.query.filters.narrow``)
  that may drop a trace only if the trace's facts are current, i.e. no
  document of it was written after ``graph_cursor``.  A trace replaced
  without facts (``facts`` None) must stay a candidate for every narrowing.
  ``graph_rows`` sums rows per key (and per ``period`` bucket) over the
  minutes that overlap ``[start, end)``, optionally only for ``keys``;
  ``graph_keys`` lists the keys present in such a window (cheap: no
  histograms), so callers can select before reading histograms.  A
  ClickHouse backend can keep the sums in a SummingMergeTree (old
  contributions inserted negated).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, Sequence

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
    # A necessary condition on the trace's node facts (``fluoro.query.filters.narrow``):
    # only a backend whose capabilities say ``narrows`` receives one.
    narrow: Node | None = None


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


@dataclass
class GraphRow:
    """One node's or edge's statistics over one minute (or a coarser bucket when read).

    ``key`` is opaque to the store (``fluoro.query.graph`` encodes it);
    ``histogram`` maps a response time in milliseconds to a count;
    ``first``/``last`` are the earliest start and latest end seen.
    """

    bucket: int
    key: str
    ok: int
    error: int
    throttle: int
    fault: int
    total: int
    response_time: float
    samples: int
    first: float
    last: float
    histogram: dict[int, int]


@dataclass(frozen=True)
class Capabilities:
    """Filter features the reader evaluates (``fluoro.query.filters.ast.feature``: ``"and"``,
    ``"annotation"``, ``"flag:fault"``, ``"compare:http.url"``, ...); the zero value evaluates none."""

    filter_nodes: frozenset[str] = frozenset()
    # Keeps per-trace node facts with the graph rollup and honours ``TraceQuery.narrow``.
    narrows: bool = False
    # Stores documents packed by ``fluoro.store.doc_markers.pack`` and takes batches whose
    # documents are packed already (``ArrowBatch.packed``: the UDP receiver process packs them).
    packed_documents: bool = False


# ``NodeFact.kind``: a service node, a call edge, "facts unknown: never narrow this trace",
# or a trace-level attribute (``type`` names it, ``name`` holds a value: see node_facts).
# Opaque rows are rare and every search looks for them: with the largest kind, min/max
# statistics skip the row groups that have none.
FACT_NODE, FACT_EDGE, FACT_OPAQUE, FACT_ATTR = 0, 1, 2, -1


@dataclass(frozen=True)
class NodeFact:
    """One node or call edge of a trace as ``service()``/``edge()`` filters see it.

    ``name``/``type``/``account`` are the node (an edge's source), ``dst_*`` an
    edge's destination; each flag is true when some segment of the node (some
    call of the edge) has it, ``ok`` when some has none of fault/error/throttle.
    """

    kind: int
    name: str | None = None
    type: str | None = None
    account: str | None = None
    dst_name: str | None = None
    dst_type: str | None = None
    dst_account: str | None = None
    fault: bool = False
    error: bool = False
    throttle: bool = False
    ok: bool = False


class TraceWriter(Protocol):
    def write(self, batch: ArrowBatch) -> None: ...


class TraceReader(Protocol):
    def capabilities(self) -> Capabilities: ...

    def documents(self, trace_ids: Sequence[str]) -> list[StoredDocument]: ...

    def find_traces(self, query: TraceQuery) -> TracePage: ...


class GraphStore(Protocol):
    def graph_cursor(self) -> int: ...

    def graph_changes(self, cursor: int, limit: int | None = None) -> list[tuple[str, int]]: ...

    def graph_replace(
        self, rows: dict[str, list[GraphRow]], cursor: int, facts: dict[str, list[NodeFact]] | None = None
    ) -> None: ...

    def graph_keys(self, start: float, end: float) -> list[str]: ...

    def graph_rows(
        self, start: float, end: float, period: int | None = None, keys: Sequence[str] | None = None
    ) -> list[GraphRow]: ...


class Store(TraceWriter, TraceReader, GraphStore, Protocol):
    """A backend: one writer thread calls ``write``; readers may be concurrent."""

    def delete_before(self, received_before: float) -> int: ...

    def stats(self) -> dict[str, float]: ...

    def config_store(self) -> ConfigStore:
        """The configuration store kept in the same backend."""

    def close(self) -> None: ...


# -- configuration: sampling rules, groups, tags, statistics, quota leases ----------------


class ConfigError(Exception):
    """A configuration write refused by the store; the message is client-facing."""


class AlreadyExists(ConfigError):
    pass


class LimitExceeded(ConfigError):
    pass


class NotFound(ConfigError):
    pass


class TooManyTags(ConfigError):
    pass


@dataclass(frozen=True)
class RuleRecord:
    """A sampling rule: ``rule`` holds the X-Ray ``SamplingRule`` members except ``RuleARN``."""

    name: str
    rule: dict[str, Any]
    created_at: float
    modified_at: float
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GroupRecord:
    name: str
    group_id: str
    filter_expression: str | None
    insights: dict[str, bool]
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ResourceRef:
    """A taggable resource: ``kind`` is ``sampling-rule`` or ``group`` (then ``group_id`` is set)."""

    kind: str
    name: str
    group_id: str | None = None


@dataclass(frozen=True)
class StatisticsRow:
    """Counts one client reported for one rule, added to the rule's 10-second window."""

    rule: str
    window_start: float
    request_count: int
    sampled_count: int
    borrow_count: int


@dataclass(frozen=True)
class ClientDemand:
    """A client holding or asking for quota on a rule: requests per second it reported."""

    client_id: str
    demand: float
    quota: int
    expires: float


class ConfigStore(Protocol):
    """Account configuration shared by every server on one backend (see module docstring)."""

    # Rules.  ``rules_modified`` is the last create/update/delete time (LastRuleModification).
    def ensure_rule(self, record: RuleRecord) -> None: ...

    def list_rules(self) -> list[RuleRecord]: ...

    def get_rule(self, name: str) -> RuleRecord | None: ...

    def create_rule(self, record: RuleRecord, max_rules: int) -> None:
        """Insert; ``AlreadyExists`` if the name is taken, ``LimitExceeded`` at ``max_rules`` rules."""

    def update_rule(self, record: RuleRecord, expect_modified: float) -> bool:
        """Replace if still at ``expect_modified`` (optimistic); False when changed meanwhile.
        ``NotFound`` if gone."""

    def delete_rule(self, name: str, now: float) -> RuleRecord:
        """Delete with its leases; ``NotFound`` if absent."""

    def rules_modified(self) -> float: ...

    # Groups.
    def ensure_group(self, record: GroupRecord) -> None: ...

    def list_groups(self) -> list[GroupRecord]: ...

    def get_group(self, name: str) -> GroupRecord | None: ...

    def create_group(self, record: GroupRecord, max_groups: int) -> None: ...

    def update_group(self, record: GroupRecord) -> None:
        """Replace the group with this name and id; ``NotFound`` if absent."""

    def delete_group(self, name: str) -> GroupRecord: ...

    # Tags, on a rule or a group, atomically checked against ``max_tags``.
    def change_tags(
        self, ref: ResourceRef, add: dict[str, str], remove: Sequence[str], max_tags: int
    ) -> dict[str, str]:
        """Apply and return the resulting tags; ``NotFound``/``TooManyTags``."""

    # Sampling statistics and reservoir quota leases.
    def add_statistics(self, rows: Sequence[StatisticsRow], keep_after: float) -> None:
        """Add counts to their windows; windows starting before ``keep_after`` may be dropped."""

    def statistics(self, since: float) -> list[StatisticsRow]:
        """Summed counts per rule and window, newest window first."""

    def active_clients(self, rule: str, now: float) -> list[ClientDemand]:
        """Clients whose lease on ``rule`` has not expired at ``now``."""

    def lease_quota(
        self, rule: str, client_id: str, want: int, capacity: int, demand: float, now: float, expires: float
    ) -> int:
        """Atomically grant ``client_id`` up to ``want`` of ``capacity`` minus the unexpired
        leases of the other clients, record the lease until ``expires``; return the grant."""

"""Tables, created and migrated on start; one layout for ClickHouse 18.16 up to current.

The base layout uses only what 18.16 (Debian bookworm's package) has: integer
and float timestamps, ``Nullable``, ``UInt8`` booleans, a row per annotation,
``MergeTree`` with daily partitions by arrival day (retention drops whole
partitions: no TTL before 19.6).  Segments use small granules (1024 rows):
a trace lookup reads whole granules of the ``doc`` column, so smaller ones
cut what a ``BatchGetTraces`` decompresses.  Newer servers get extras at creation time,
detected from ``version()``:

- 19.3+: ``LowCardinality`` for repetitive strings (segment name, origin, method);
- 20.3+: ``bloom_filter`` skip indexes on ``user`` and annotation string values.

Migrations are numbered and idempotent (``IF NOT EXISTS``), so several fluoro
servers starting at once against one database are safe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

# Day number since the epoch of the arrival time: no time zone involved.
PARTITION = "intDiv(toUInt32(received), 86400)"
Version = tuple[int, ...]


def parse_version(text: str) -> Version:
    parts = []
    for piece in text.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


@dataclass(frozen=True)
class Features:
    """What this server offers beyond the 18.16 base."""

    low_cardinality: bool
    skip_indexes: bool

    @classmethod
    def for_version(cls, version: Version) -> Features:
        return cls(low_cardinality=version >= (19, 3), skip_indexes=version >= (20, 3))

    def describe(self) -> list[str]:
        return [name for name, on in vars(self).items() if on]


@dataclass(frozen=True)
class Tables:
    """Names to write to (the local shard) and to read from (all shards)."""

    database: str
    cluster: str | None
    replicated: bool = False

    def engine(self, table: str) -> str:
        """``MergeTree``, or its replicated form keyed by the node's ``{shard}``/``{replica}`` macros."""
        if not self.replicated:
            return "MergeTree"
        return f"ReplicatedMergeTree('/clickhouse/tables/{{shard}}/{self.database}/{table}', '{{replica}}')"

    def write(self, table: str) -> str:
        return f"{self.database}.{table}_local" if self.cluster else f"{self.database}.{table}"

    def read(self, table: str) -> str:
        return f"{self.database}.{table}"


def _segments(t: Tables, f: Features) -> str:
    lc = "LowCardinality(String)" if f.low_cardinality else "String"
    lcn = "LowCardinality(Nullable(String))" if f.low_cardinality else "Nullable(String)"
    index = ",\n    INDEX user_bf user TYPE bloom_filter(0.01) GRANULARITY 4" if f.skip_indexes else ""
    return f"""CREATE TABLE IF NOT EXISTS {t.write("segments")} (
    trace_id     String,
    trace_key    Int64,
    id           String,
    parent_id    Nullable(String),
    is_sub       UInt8,
    in_progress  UInt8,
    trace_time   Int64,
    start_time   Float64,
    end_time     Nullable(Float64),
    received     Float64,
    name         {lc},
    origin       {lcn},
    fault        UInt8,
    error        UInt8,
    throttle     UInt8,
    any_throttle UInt8,
    http_method  {lcn},
    http_url     Nullable(String),
    http_status  Nullable(Int16),
    user_agent   Nullable(String),
    client_ip    Nullable(String),
    user         Nullable(String),
    doc          String,
    -- Insert time by ClickHouse's clock: the service-graph rollup's write position.
    written      UInt64 DEFAULT toUInt64(now()){index}
) ENGINE = {t.engine("segments")} PARTITION BY {PARTITION} ORDER BY (trace_time, trace_key, id)
  SETTINGS index_granularity = 1024"""


def _annotations(t: Tables, f: Features) -> str:
    index = ",\n    INDEX s_bf s TYPE bloom_filter(0.01) GRANULARITY 4" if f.skip_indexes else ""
    return f"""CREATE TABLE IF NOT EXISTS {t.write("annotations")} (
    trace_key  Int64,
    trace_time Int64,
    received   Float64,
    key        String,
    s          Nullable(String),
    n          Nullable(Float64),
    b          Nullable(UInt8){index}
) ENGINE = {t.engine("annotations")} PARTITION BY {PARTITION} ORDER BY (key, trace_time, trace_key)"""


def _distributed(t: Tables, table: str) -> list[str]:
    if not t.cluster:
        return []
    return [
        f"CREATE TABLE IF NOT EXISTS {t.read(table)} AS {t.write(table)}"
        f" ENGINE = Distributed({t.cluster}, {t.database}, {table}_local, rand())"
    ]


# (version, statements); a migration runs when the database's version is lower.
MIGRATIONS: list[tuple[int, Callable[[Tables, Features], list[str]]]] = [
    (
        1,
        lambda t, f: [
            _segments(t, f),
            _annotations(t, f),
            *_distributed(t, "segments"),
            *_distributed(t, "annotations"),
        ],
    ),
    # Sampling rules, groups, tags, statistics, leases (fluoro.store.clickhouse.config_store).
    (2, lambda t, f: _config(t)),
    # Service-graph rollup (fluoro.store.clickhouse.graph).
    (3, lambda t, f: _graph(t)),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


def _config(t: Tables) -> list[str]:
    from fluoro.store.clickhouse.config_store import config_tables

    return config_tables(t.database)


def _graph(t: Tables) -> list[str]:
    from fluoro.store.clickhouse.graph import graph_tables

    return graph_tables(t.database)


def meta_table(t: Tables) -> str:
    # Per node, never distributed: each node records what was applied to it.
    return (
        f"CREATE TABLE IF NOT EXISTS {t.database}.fluoro_schema (version UInt32, applied DateTime DEFAULT now())"
        " ENGINE = MergeTree ORDER BY version"
    )

"""``ConfigStore`` on ClickHouse: sampling rules, groups, tags, statistics, quota leases.

ClickHouse has no transactions and no unique keys, yet every check-then-write
of the contract must be atomic across all servers sharing the database.  So:

- the whole configuration is one *snapshot*: generation ``gen`` of the
  ``fluoro_config`` table (a row per config row, JSON-encoded).  A snapshot is
  written by one INSERT, one block, which becomes visible atomically; readers
  take the newest generation and need no lock;
- writers serialize on a cross-server mutex: ``CREATE TABLE fluoro_config_lock``
  succeeds for exactly one caller (DDL on one node is exclusive) and ``DROP``
  releases it.  A lock older than ``STALE_LOCK_SECONDS`` (its holder died mid-
  operation) is broken;
- under the lock, the snapshot is loaded into an in-memory DuckDB and the
  DuckDB ``ConfigStore`` runs the operation, so both backends share one
  implementation of the rules (limits, optimistic updates, max-min fair
  leases); a changed state is written back as generation ``gen + 1``.

The configuration is small (rules, groups, the last minutes of statistics and
leases), so copying it per write costs milliseconds.  On a cluster the tables
live on the node each server connects to: point every server at the same node
for configuration (the ``Distributed`` trace tables are unaffected).
"""

from __future__ import annotations

import json
import random
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence, TypeVar

import duckdb
from clickhouse_driver import Client
from clickhouse_driver.errors import ServerException

from fluoro.store.api import ClientDemand, GroupRecord, ResourceRef, RuleRecord, StatisticsRow
from fluoro.store.duckdb.config_store import DuckDBConfigStore

T = TypeVar("T")
STALE_LOCK_SECONDS = 30
TABLE_ALREADY_EXISTS = 57
UNKNOWN_TABLE = 60
_TABLES = ("sampling_rules", "xray_groups", "sampling_statistics", "sampling_leases", "meta")
_GENERATIONS_PER_PARTITION = 1000


def config_tables(database: str) -> list[str]:
    return [
        f"CREATE TABLE IF NOT EXISTS {database}.fluoro_config (gen UInt64, tbl String, row String)"
        f" ENGINE = MergeTree PARTITION BY intDiv(gen, {_GENERATIONS_PER_PARTITION}) ORDER BY (gen, tbl)"
    ]


class ClickHouseConfigStore:
    """Implements ``fluoro.store.api.ConfigStore``; ``client`` lends a pooled connection."""

    def __init__(self, database: str, client: Callable[[], Any]) -> None:
        self.database = database
        self._client = client
        self._thread_lock = threading.Lock()  # one writer per process; others wait here, not on DDL

    # -- snapshots -------------------------------------------------------------------------

    def _load(self, conn: Client) -> tuple[int, duckdb.DuckDBPyConnection, DuckDBConfigStore]:
        rows = conn.execute(
            f"SELECT gen, tbl, row FROM {self.database}.fluoro_config"
            f" WHERE gen = (SELECT max(gen) FROM {self.database}.fluoro_config)"
        )
        duck = duckdb.connect(":memory:")
        duck.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
        store = DuckDBConfigStore(duck)
        gen = int(rows[0][0]) if rows else 0
        by_table: dict[str, list[list[Any]]] = {}
        for _, table, row in rows:
            if table:
                by_table.setdefault(table, []).append(json.loads(row))
        for table, values in by_table.items():
            if table not in _TABLES:
                continue
            marks = ", ".join("?" * len(values[0]))
            duck.executemany(f"INSERT INTO {table} VALUES ({marks})", values)
        return gen, duck, store

    @staticmethod
    def _dump(duck: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
        out = []
        for table in _TABLES:
            for row in duck.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall():
                out.append((table, json.dumps(list(row))))
        return out

    @contextmanager
    def _locked(self, conn: Client) -> Iterator[None]:
        lock = f"{self.database}.fluoro_config_lock"
        deadline = time.monotonic() + 2 * STALE_LOCK_SECONDS
        while True:
            try:
                conn.execute(f"CREATE TABLE {lock} (holder String) ENGINE = Memory")
                break
            except ServerException as exc:
                if exc.code != TABLE_ALREADY_EXISTS or time.monotonic() > deadline:
                    raise
            try:
                age = conn.execute(
                    "SELECT now() - metadata_modification_time FROM system.tables"
                    " WHERE database = %(db)s AND name = 'fluoro_config_lock'",
                    {"db": self.database},
                )
            except ServerException as exc:
                # The holder dropped the lock while system.tables listed it: some ClickHouse
                # versions then fail the whole query with UNKNOWN_TABLE.  Free now: try again.
                if exc.code != UNKNOWN_TABLE:
                    raise
                continue
            if age and int(age[0][0]) > STALE_LOCK_SECONDS:
                conn.execute(f"DROP TABLE IF EXISTS {lock}")  # its holder died mid-operation
            time.sleep(random.uniform(0.002, 0.02))
        try:
            yield
        finally:
            conn.execute(f"DROP TABLE IF EXISTS {lock}")

    def _read(self, fn: Callable[[DuckDBConfigStore], T]) -> T:
        with self._client() as conn:
            _, duck, store = self._load(conn)
        try:
            return fn(store)
        finally:
            duck.close()

    def _write(self, fn: Callable[[DuckDBConfigStore], T]) -> T:
        with self._thread_lock, self._client() as conn, self._locked(conn):
            gen, duck, store = self._load(conn)
            try:
                before = self._dump(duck)
                result = fn(store)  # raises (AlreadyExists, ...) with nothing written
                after = self._dump(duck)
            finally:
                duck.close()
            if after != before:
                new = gen + 1
                rows = [(new, "", "")] + [(new, table, row) for table, row in after]
                conn.execute(f"INSERT INTO {self.database}.fluoro_config (gen, tbl, row) VALUES", rows)
                if new % _GENERATIONS_PER_PARTITION == 0:
                    self._drop_old(conn, new // _GENERATIONS_PER_PARTITION)
            return result

    def _drop_old(self, conn: Client, current: int) -> None:
        parts = conn.execute(
            "SELECT DISTINCT partition FROM system.parts WHERE database = %(db)s AND table = 'fluoro_config'"
            " AND active",
            {"db": self.database},
        )
        for (partition,) in parts:
            if int(partition) < current - 1:
                conn.execute(f"ALTER TABLE {self.database}.fluoro_config DROP PARTITION {int(partition)}")

    # -- the contract ------------------------------------------------------------------------

    def ensure_rule(self, record: RuleRecord) -> None:
        self._write(lambda s: s.ensure_rule(record))

    def list_rules(self) -> list[RuleRecord]:
        return self._read(lambda s: s.list_rules())

    def get_rule(self, name: str) -> RuleRecord | None:
        return self._read(lambda s: s.get_rule(name))

    def create_rule(self, record: RuleRecord, max_rules: int) -> None:
        self._write(lambda s: s.create_rule(record, max_rules))

    def update_rule(self, record: RuleRecord, expect_modified: float) -> bool:
        return self._write(lambda s: s.update_rule(record, expect_modified))

    def delete_rule(self, name: str, now: float) -> RuleRecord:
        return self._write(lambda s: s.delete_rule(name, now))

    def rules_modified(self) -> float:
        return self._read(lambda s: s.rules_modified())

    def ensure_group(self, record: GroupRecord) -> None:
        self._write(lambda s: s.ensure_group(record))

    def list_groups(self) -> list[GroupRecord]:
        return self._read(lambda s: s.list_groups())

    def get_group(self, name: str) -> GroupRecord | None:
        return self._read(lambda s: s.get_group(name))

    def create_group(self, record: GroupRecord, max_groups: int) -> None:
        self._write(lambda s: s.create_group(record, max_groups))

    def update_group(self, record: GroupRecord) -> None:
        self._write(lambda s: s.update_group(record))

    def delete_group(self, name: str) -> GroupRecord:
        return self._write(lambda s: s.delete_group(name))

    def change_tags(
        self, ref: ResourceRef, add: dict[str, str], remove: Sequence[str], max_tags: int
    ) -> dict[str, str]:
        return self._write(lambda s: s.change_tags(ref, add, remove, max_tags))

    def add_statistics(self, rows: Sequence[StatisticsRow], keep_after: float) -> None:
        self._write(lambda s: s.add_statistics(rows, keep_after))

    def statistics(self, since: float) -> list[StatisticsRow]:
        return self._read(lambda s: s.statistics(since))

    def active_clients(self, rule: str, now: float) -> list[ClientDemand]:
        return self._read(lambda s: s.active_clients(rule, now))

    def lease_quota(self, rule: str, client_id: str, want: int, capacity: int, demand: float, now: float,
                    expires: float) -> int:  # fmt: skip
        return self._write(lambda s: s.lease_quota(rule, client_id, want, capacity, demand, now, expires))

"""``ConfigStore`` on the DuckDB file: rules, groups, tags, sampling statistics and leases.

A DuckDB file has one owning process, so a process lock around each
read-check-write transaction makes every contract operation atomic; the
transaction makes it durable (WAL) before the call returns.
"""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from importlib import resources
from typing import Any, Callable, Iterator, Sequence

import duckdb

from fluoro.store.api import (
    AlreadyExists,
    ClientDemand,
    GroupRecord,
    LimitExceeded,
    NotFound,
    ResourceRef,
    RuleRecord,
    StatisticsRow,
    TooManyTags,
)

_RULES_MODIFIED = "rules_modified"


def _rule(row: Any) -> RuleRecord:
    name, body, created, modified, tags = row
    return RuleRecord(str(name), json.loads(body), float(created), float(modified), json.loads(tags))


def _group(row: Any) -> GroupRecord:
    name, group_id, expression, insights, tags = row
    return GroupRecord(str(name), str(group_id), expression, json.loads(insights), json.loads(tags))


_RULE_COLS = "name, body, created_at, modified_at, tags"
_GROUP_COLS = "name, group_id, filter_expression, insights, tags"


class DuckDBConfigStore:
    """Implements ``fluoro.store.api.ConfigStore`` on an open DuckDB connection."""

    def __init__(
        self, db: duckdb.DuckDBPyConnection, cursor: Callable[[], duckdb.DuckDBPyConnection] | None = None
    ) -> None:
        """``cursor``: how to open a connection of its own (default ``db.cursor``)."""
        self._db = db
        self._cursor = cursor or db.cursor
        self._lock = threading.Lock()
        schema = resources.files("fluoro.store.duckdb").joinpath("config_schema.sql").read_text()
        with self._lock:
            db.execute(schema)

    @contextmanager
    def _read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        cur = self._cursor()
        try:
            yield cur
        finally:
            cur.close()

    @contextmanager
    def _write(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._lock:
            cur = self._cursor()
            cur.execute("BEGIN TRANSACTION")
            try:
                yield cur
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            finally:
                cur.close()

    # -- rules ---------------------------------------------------------------------------

    @staticmethod
    def _touch_rules(cur: duckdb.DuckDBPyConnection, when: float) -> None:
        cur.execute(
            "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE"
            " SET value = CAST(greatest(CAST(meta.value AS DOUBLE), CAST(excluded.value AS DOUBLE)) AS VARCHAR)",
            [_RULES_MODIFIED, repr(float(when))],
        )

    @staticmethod
    def _insert_rule(cur: duckdb.DuckDBPyConnection, r: RuleRecord) -> None:
        cur.execute(
            f"INSERT INTO sampling_rules ({_RULE_COLS}) VALUES (?, ?, ?, ?, ?)",
            [r.name, json.dumps(r.rule), r.created_at, r.modified_at, json.dumps(r.tags)],
        )

    def ensure_rule(self, record: RuleRecord) -> None:
        with self._write() as cur:
            if cur.execute("SELECT 1 FROM sampling_rules WHERE name = ?", [record.name]).fetchone() is None:
                self._insert_rule(cur, record)
                self._touch_rules(cur, record.modified_at)

    def list_rules(self) -> list[RuleRecord]:
        with self._read() as cur:
            rows = cur.execute(f"SELECT {_RULE_COLS} FROM sampling_rules ORDER BY created_at, name").fetchall()
        return [_rule(r) for r in rows]

    def get_rule(self, name: str) -> RuleRecord | None:
        with self._read() as cur:
            row = cur.execute(f"SELECT {_RULE_COLS} FROM sampling_rules WHERE name = ?", [name]).fetchone()
        return _rule(row) if row else None

    def create_rule(self, record: RuleRecord, max_rules: int) -> None:
        with self._write() as cur:
            if cur.execute("SELECT 1 FROM sampling_rules WHERE name = ?", [record.name]).fetchone():
                raise AlreadyExists("Sampling rule already exists")
            row = cur.execute("SELECT count(*) FROM sampling_rules").fetchone()
            if row and int(row[0]) >= max_rules:
                raise LimitExceeded("The maximum number of custom sampling rules has been reached.")
            self._insert_rule(cur, record)
            self._touch_rules(cur, record.modified_at)

    def update_rule(self, record: RuleRecord, expect_modified: float) -> bool:
        with self._write() as cur:
            row = cur.execute("SELECT modified_at FROM sampling_rules WHERE name = ?", [record.name]).fetchone()
            if row is None:
                raise NotFound("Sampling rule does not exist")
            if float(row[0]) != expect_modified:
                return False
            cur.execute(
                "UPDATE sampling_rules SET body = ?, modified_at = ?, tags = ? WHERE name = ?",
                [json.dumps(record.rule), record.modified_at, json.dumps(record.tags), record.name],
            )
            self._touch_rules(cur, record.modified_at)
            return True

    def delete_rule(self, name: str, now: float) -> RuleRecord:
        with self._write() as cur:
            row = cur.execute(f"SELECT {_RULE_COLS} FROM sampling_rules WHERE name = ?", [name]).fetchone()
            if row is None:
                raise NotFound("Sampling rule does not exist")
            cur.execute("DELETE FROM sampling_rules WHERE name = ?", [name])
            cur.execute("DELETE FROM sampling_leases WHERE rule = ?", [name])
            self._touch_rules(cur, now)
        return _rule(row)

    def rules_modified(self) -> float:
        with self._read() as cur:
            row = cur.execute("SELECT value FROM meta WHERE key = ?", [_RULES_MODIFIED]).fetchone()
        return float(row[0]) if row else 0.0

    # -- groups --------------------------------------------------------------------------

    @staticmethod
    def _insert_group(cur: duckdb.DuckDBPyConnection, g: GroupRecord) -> None:
        cur.execute(
            f"INSERT INTO xray_groups ({_GROUP_COLS}) VALUES (?, ?, ?, ?, ?)",
            [g.name, g.group_id, g.filter_expression, json.dumps(g.insights), json.dumps(g.tags)],
        )

    def ensure_group(self, record: GroupRecord) -> None:
        with self._write() as cur:
            if cur.execute("SELECT 1 FROM xray_groups WHERE name = ?", [record.name]).fetchone() is None:
                self._insert_group(cur, record)

    def list_groups(self) -> list[GroupRecord]:
        with self._read() as cur:
            rows = cur.execute(f"SELECT {_GROUP_COLS} FROM xray_groups ORDER BY name").fetchall()
        return [_group(r) for r in rows]

    def get_group(self, name: str) -> GroupRecord | None:
        with self._read() as cur:
            row = cur.execute(f"SELECT {_GROUP_COLS} FROM xray_groups WHERE name = ?", [name]).fetchone()
        return _group(row) if row else None

    def create_group(self, record: GroupRecord, max_groups: int) -> None:
        with self._write() as cur:
            if cur.execute("SELECT 1 FROM xray_groups WHERE name = ?", [record.name]).fetchone():
                raise AlreadyExists(f"Group {record.name} already exists")
            row = cur.execute("SELECT count(*) FROM xray_groups").fetchone()
            if row and int(row[0]) >= max_groups:
                raise LimitExceeded(f"The maximum number of groups ({max_groups}) has been reached")
            self._insert_group(cur, record)

    def update_group(self, record: GroupRecord) -> None:
        with self._write() as cur:
            found = cur.execute(
                "SELECT 1 FROM xray_groups WHERE name = ? AND group_id = ?", [record.name, record.group_id]
            ).fetchone()
            if found is None:
                raise NotFound("Group not found")
            cur.execute(
                "UPDATE xray_groups SET filter_expression = ?, insights = ? WHERE name = ?",
                [record.filter_expression, json.dumps(record.insights), record.name],
            )

    def delete_group(self, name: str) -> GroupRecord:
        with self._write() as cur:
            row = cur.execute(f"SELECT {_GROUP_COLS} FROM xray_groups WHERE name = ?", [name]).fetchone()
            if row is None:
                raise NotFound("Group not found")
            cur.execute("DELETE FROM xray_groups WHERE name = ?", [name])
        return _group(row)

    # -- tags ----------------------------------------------------------------------------

    def change_tags(
        self, ref: ResourceRef, add: dict[str, str], remove: Sequence[str], max_tags: int
    ) -> dict[str, str]:
        params: list[Any]
        if ref.kind == "sampling-rule":
            table, where, params = "sampling_rules", "name = ?", [ref.name]
        elif ref.kind == "group":
            table, where, params = "xray_groups", "name = ? AND group_id = ?", [ref.name, ref.group_id]
        else:
            raise NotFound(f"No resource of type {ref.kind}")
        with self._write() as cur:
            row = cur.execute(f"SELECT tags FROM {table} WHERE {where}", params).fetchone()
            if row is None:
                raise NotFound("Resource not found")
            tags: dict[str, str] = json.loads(row[0])
            for key in remove:
                tags.pop(key, None)
            tags.update(add)
            if len(tags) > max_tags:
                raise TooManyTags(f"A resource can have at most {max_tags} tags; this change leaves {len(tags)}")
            if add or remove:
                cur.execute(f"UPDATE {table} SET tags = ? WHERE {where}", [json.dumps(tags), *params])
        return tags

    # -- sampling statistics and quota leases --------------------------------------------

    def add_statistics(self, rows: Sequence[StatisticsRow], keep_after: float) -> None:
        with self._write() as cur:
            for r in rows:
                cur.execute(
                    "INSERT INTO sampling_statistics VALUES (?, ?, ?, ?, ?) ON CONFLICT (rule, window_start)"
                    " DO UPDATE SET request_count = sampling_statistics.request_count + excluded.request_count,"
                    " sampled_count = sampling_statistics.sampled_count + excluded.sampled_count,"
                    " borrow_count = sampling_statistics.borrow_count + excluded.borrow_count",
                    [r.rule, r.window_start, r.request_count, r.sampled_count, r.borrow_count],
                )
            cur.execute("DELETE FROM sampling_statistics WHERE window_start < ?", [keep_after])

    def statistics(self, since: float) -> list[StatisticsRow]:
        with self._read() as cur:
            rows = cur.execute(
                "SELECT rule, window_start, request_count, sampled_count, borrow_count FROM sampling_statistics"
                " WHERE window_start >= ? ORDER BY window_start DESC, rule",
                [since],
            ).fetchall()
        return [StatisticsRow(str(a), float(b), int(c), int(d), int(e)) for a, b, c, d, e in rows]

    def active_clients(self, rule: str, now: float) -> list[ClientDemand]:
        with self._read() as cur:
            rows = cur.execute(
                "SELECT client_id, demand, quota, expires FROM sampling_leases WHERE rule = ? AND expires > ?"
                " ORDER BY client_id",
                [rule, now],
            ).fetchall()
        return [ClientDemand(str(c), float(d), int(q), float(e)) for c, d, q, e in rows]

    def lease_quota(
        self, rule: str, client_id: str, want: int, capacity: int, demand: float, now: float, expires: float
    ) -> int:
        with self._write() as cur:
            row = cur.execute(
                "SELECT coalesce(sum(quota), 0) FROM sampling_leases WHERE rule = ? AND client_id <> ? AND expires > ?",
                [rule, client_id, now],
            ).fetchone()
            held = int(row[0]) if row else 0
            granted = max(0, min(want, capacity - held))
            cur.execute(
                "INSERT INTO sampling_leases VALUES (?, ?, ?, ?, ?) ON CONFLICT (rule, client_id)"
                " DO UPDATE SET quota = excluded.quota, demand = excluded.demand, expires = excluded.expires",
                [rule, client_id, granted, demand, expires],
            )
            cur.execute("DELETE FROM sampling_leases WHERE rule = ? AND expires <= ?", [rule, now])
        return granted

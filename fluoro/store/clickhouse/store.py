"""The ClickHouse backend: stateless, so any number of fluoro servers can share one database.

Everything a server knows lives in ClickHouse; the process holds only
connections.  Writes are one columnar (native protocol) insert per table per
flush; the insert returns after the server wrote the parts.
"""

from __future__ import annotations

import logging
import queue
import random
import time
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

from clickhouse_driver import Client
from clickhouse_driver.errors import (
    NetworkError,
    ServerException,
    SocketTimeoutError,
    UnexpectedPacketFromServerError,
)

from fluoro.store.api import Capabilities, GraphRow, NodeFact, StoredDocument, TracePage, TraceQuery
from fluoro.store.clickhouse.config import ClickHouseConfig, split_host
from fluoro.store.clickhouse.config_store import UNKNOWN_TABLE, ClickHouseConfigStore, config_tables
from fluoro.store.clickhouse.filter_sql import CAPABILITIES
from fluoro.store.clickhouse.graph import ClickHouseGraph
from fluoro.store.clickhouse.reader import find_traces, read_documents, run
from fluoro.store.clickhouse.schema import (
    MIGRATIONS,
    PARTITION,
    Features,
    Tables,
    meta_table,
    parse_version,
)
from fluoro.store.columns import ArrowBatch

log = logging.getLogger("fluoro.store")

_SEGMENT_COLUMNS = (
    "trace_id", "trace_key", "id", "parent_id", "is_sub", "in_progress", "trace_time", "start_time", "end_time",
    "received", "name", "origin", "fault", "error", "throttle", "any_throttle", "http_method", "http_url",
    "http_status", "user_agent", "client_ip", "user", "doc",
)  # fmt: skip
_ANNOTATION_COLUMNS = ("trace_key", "trace_time", "received", "key", "s", "n", "b")
_UINT8 = {"is_sub", "in_progress", "fault", "error", "throttle", "any_throttle"}
# Errors that mean "the server is away", worth waiting out; others are raised at once.
TRANSIENT = (NetworkError, SocketTimeoutError, UnexpectedPacketFromServerError, EOFError, OSError)


class ClickHouseStore:
    """Implements ``fluoro.store.api.Store`` on a ClickHouse server or cluster."""

    def __init__(self, config: ClickHouseConfig) -> None:
        self.config = config
        self.tables = Tables(config.database, config.cluster, config.replicated)
        self._pool = _Pool(config, config.host, config.port)
        self._closed = False
        # False while writes fail for lack of a server; the API's /healthz reports it.
        self.healthy = True
        with self._client() as client:
            client.execute(f"CREATE DATABASE IF NOT EXISTS {config.database}")
            self.server_version = str(client.execute("SELECT version()")[0][0])
            self.features = Features.for_version(parse_version(self.server_version))
            self._migrate(client)
            self._check_engine(client)
            self.config_node = self._config_node(client)
        if self.config_node == (config.host, config.port):
            self._config_pool = self._pool
        else:
            self._config_pool = _Pool(config, *self.config_node)
            with self._config_pool.client() as client:
                client.execute(f"CREATE DATABASE IF NOT EXISTS {config.database}")
                for sql in config_tables(config.database):
                    client.execute(sql)
        self._config_store = ClickHouseConfigStore(config.database, self._config_pool.client)
        self._graph = ClickHouseGraph(
            config.database, self.tables.read("segments"), self._execute, self._insert_columns
        )
        log.info("ClickHouse %s at %s:%d/%s (extras: %s; configuration on %s:%d)", self.server_version,
                 config.host, config.port, config.database, ", ".join(self.features.describe()) or "none",
                 *self.config_node)  # fmt: skip

    def _config_node(self, client: Client) -> tuple[str, int]:
        """Where the shared configuration lives: one node for every server, or they would disagree."""
        if self.config.config_host:
            return split_host(self.config.config_host)
        if not self.config.cluster:
            return self.config.host, self.config.port
        rows = client.execute(
            "SELECT host_address, port FROM system.clusters WHERE cluster = %(c)s"
            " ORDER BY shard_num, replica_num LIMIT 1",
            {"c": self.config.cluster},
        )
        if not rows:
            raise ValueError(
                f"ClickHouse has no cluster {self.config.cluster!r} in its remote_servers config"
            )
        return str(rows[0][0]), int(rows[0][1])

    def _check_engine(self, client: Client) -> None:
        """Refuse a ``replicated`` setting the existing tables do not have (CREATE IF NOT EXISTS keeps them)."""
        name = self.tables.write("segments").split(".", 1)[1]
        for attempt in range(5):
            try:
                rows = client.execute(
                    "SELECT engine FROM system.tables WHERE database = %(db)s AND name = %(t)s",
                    {"db": self.config.database, "t": name},
                )
                break
            except ServerException as exc:
                # Another server dropped its configuration lock table while this listed the
                # database: older ClickHouse versions fail the query (see config_store._locked).
                if exc.code != UNKNOWN_TABLE or attempt == 4:
                    raise
                time.sleep(0.01)
        engine = str(rows[0][0]) if rows else ""
        if self.config.replicated != engine.startswith("Replicated"):
            want = "ReplicatedMergeTree" if self.config.replicated else "MergeTree"
            raise ValueError(
                f"{self.config.database}.{name} is a {engine} table but the URL asks for {want}"
                f" (replicated={'1' if self.config.replicated else '0'}); tables are not converted in place"
            )

    @contextmanager
    def _client(self) -> Iterator[Client]:
        with self._pool.client() as client:
            yield client

    def _migrate(self, client: Client) -> None:
        client.execute(meta_table(self.tables))
        rows = client.execute(f"SELECT max(version) FROM {self.config.database}.fluoro_schema")
        current = int(rows[0][0]) if rows and rows[0][0] is not None else 0
        for version, statements in MIGRATIONS:
            if version <= current:
                continue
            for sql in statements(self.tables, self.features):
                client.execute(sql)
            client.execute(f"INSERT INTO {self.config.database}.fluoro_schema (version) VALUES", [(version,)])
            log.info("ClickHouse schema migrated to version %d", version)

    def capabilities(self) -> Capabilities:
        return CAPABILITIES

    def write(self, batch: ArrowBatch) -> None:
        """Insert, waiting out an unreachable server for up to ``write_retry_seconds``.

        Meanwhile the pipeline's bounded queues fill and drop their oldest
        entries (counted); a retried insert may duplicate rows, which reads resolve.
        """
        if not len(batch):
            return
        if batch.packed:  # CAPABILITIES says packed_documents=False: a caller's mistake
            raise ValueError("the ClickHouse store keeps documents as sent; it cannot take packed ones")
        deadline = time.monotonic() + self.config.write_retry_seconds
        delay = 0.1
        while True:
            try:
                self._insert(batch)
            except TRANSIENT as exc:
                if self._closed or time.monotonic() + delay > deadline:
                    raise
                if self.healthy:
                    log.warning("ClickHouse unreachable (%s); retrying the write", exc)
                self.healthy = False
                time.sleep(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, 5.0)
                continue
            if not self.healthy:
                log.info("ClickHouse reachable again")
            self.healthy = True
            return

    def _insert(self, batch: ArrowBatch) -> None:
        segments = batch.segments
        seg_columns = []
        for name in _SEGMENT_COLUMNS:
            values = segments[name].to_pylist()
            if name in _UINT8:
                values = [1 if v else 0 for v in values]
            seg_columns.append(values)
        ann = batch.annotations
        with self._client() as client:
            # Annotations first: a crash between the two inserts leaves only
            # harmless index rows, and the retried batch brings the segments.
            if ann.num_rows:
                ann_columns = [ann[name].to_pylist() for name in _ANNOTATION_COLUMNS]
                ann_columns[-1] = [None if v is None else int(v) for v in ann_columns[-1]]
                client.execute(
                    f"INSERT INTO {self.tables.write('annotations')} ({', '.join(_ANNOTATION_COLUMNS)}) VALUES",
                    ann_columns, columnar=True,
                )  # fmt: skip
            client.execute(
                f"INSERT INTO {self.tables.write('segments')} ({', '.join(_SEGMENT_COLUMNS)}) VALUES",
                seg_columns, columnar=True,
            )  # fmt: skip

    def _execute(self, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        with self._client() as client:
            return run(client, sql, params)

    def _insert_columns(self, sql: str, columns: list[Any]) -> None:
        with self._client() as client:
            client.execute(sql, columns, columnar=True)

    def graph_cursor(self) -> int:
        return self._graph.cursor()

    def graph_changes(self, cursor: int, limit: int | None = None) -> list[tuple[str, int]]:
        return self._graph.changes(cursor)  # all of them: the contract lets a backend ignore ``limit``

    def graph_replace(
        self, rows: dict[str, list[GraphRow]], cursor: int, facts: dict[str, list[NodeFact]] | None = None
    ) -> None:
        # No node facts kept here yet (capabilities: narrows=False): searches never narrow.
        self._graph.replace(rows, cursor)

    def graph_keys(self, start: float, end: float) -> list[str]:
        return self._graph.keys(start, end)

    def graph_rows(
        self, start: float, end: float, period: int | None = None, keys: Sequence[str] | None = None
    ) -> list[GraphRow]:
        return self._graph.rows(start, end, period, keys)

    def documents(self, trace_ids: Sequence[str]) -> list[StoredDocument]:
        return read_documents(self._execute, self.tables.read("segments"), trace_ids)

    def find_traces(self, query: TraceQuery) -> TracePage:
        return find_traces(self._execute, self.tables.read("segments"), self.tables.read("annotations"), query,
                           global_in=self.config.cluster is not None)  # fmt: skip

    def delete_before(self, received_before: float) -> int:
        """Drop whole days that ended before the cutoff (on the node this server writes to).

        Retention is per arrival day: a row is kept until its whole day is
        older than the cutoff, so up to a day longer than asked, never shorter.
        """
        day = int(received_before // 86400)
        removed = 0
        db = self.config.database
        # Graph rows are kept a day longer: traces that started before the cutoff may still report.
        targets = [(self.tables.write("segments"), day), (self.tables.write("annotations"), day),
                   (f"{db}.graph_traces", day - 1)]  # fmt: skip
        with self._client() as client:
            for name, cutoff in targets:
                short = name.split(".", 1)[1]
                parts = client.execute(
                    "SELECT partition, sum(rows) FROM system.parts WHERE database = %(db)s AND table = %(t)s"
                    " AND active GROUP BY partition",
                    {"db": self.config.database, "t": short},
                )
                for partition, rows in parts:
                    if int(partition) < cutoff:
                        client.execute(f"ALTER TABLE {name} DROP PARTITION {int(partition)}")
                        if short.startswith("segments"):
                            removed += int(rows)
        return removed

    def stats(self) -> dict[str, float]:
        rows = self._execute(f"SELECT count() FROM {self.tables.read('segments')}", [])
        return {"segments": float(rows[0][0]) if rows else 0.0}

    def config_store(self) -> ClickHouseConfigStore:
        """Rules, groups and sampling state, shared by every server on this database."""
        return self._config_store

    def ping(self) -> bool:
        try:
            self._execute("SELECT 1", [])
            return True
        except Exception:
            return False

    def close(self) -> None:
        self._closed = True
        self._pool.close()
        self._config_pool.close()


class _Pool:
    """Connections to one node; one that failed mid-query is dropped, not reused."""

    def __init__(self, config: ClickHouseConfig, host: str, port: int) -> None:
        self.config = config
        self.host = host
        self.port = port
        self._idle: queue.LifoQueue[Client] = queue.LifoQueue()
        self._closed = False

    def _new(self) -> Client:
        cfg = self.config
        return Client(
            self.host, port=self.port, user=cfg.user, password=cfg.password, database="default",
            connect_timeout=cfg.connect_timeout, send_receive_timeout=cfg.send_receive_timeout,
            settings={"strings_as_bytes": False},
        )  # fmt: skip

    @contextmanager
    def client(self) -> Iterator[Client]:
        try:
            client = self._idle.get_nowait()
        except queue.Empty:
            client = self._new()
        try:
            yield client
        except BaseException:
            client.disconnect()
            raise
        if self._closed or self._idle.qsize() >= self.config.pool_size:
            client.disconnect()
        else:
            self._idle.put(client)

    def close(self) -> None:
        self._closed = True
        while True:
            try:
                self._idle.get_nowait().disconnect()
            except queue.Empty:
                break


__all__ = ["ClickHouseStore", "PARTITION"]

"""The DuckDB backend: one embedded database file (or memory), one writer connection."""

from __future__ import annotations

import atexit
import dataclasses
import logging
import os
import threading
import time
import weakref
from importlib import resources
from typing import Any, Callable, Sequence, TypeVar

import duckdb

from fluoro.background import HostIdle, lower_thread_priority
from fluoro.store.api import Capabilities, GraphRow, NodeFact, StoredDocument, TracePage, TraceQuery
from fluoro.store.columns import ArrowBatch
from fluoro.store.duckdb import graph, trace_table
from fluoro.store.duckdb.config import DuckDBConfig
from fluoro.store.duckdb.config_store import DuckDBConfigStore
from fluoro.store.duckdb.doc_dicts import Decompressors
from fluoro.store.duckdb.doc_files import DocFiles, docs_dir
from fluoro.store.duckdb.filter_sql import CAPABILITIES
from fluoro.store.duckdb.reader import find_traces, read_documents, read_marks
from fluoro.store.duckdb.threads import ThreadGovernor
from fluoro.store.duckdb.writer import ChunkWriter

SCHEMA_VERSION = "3"
# The filter SQL's keywords, and the rollup's trace_nodes for narrowing (graph.py, narrow_sql.py).
_CAPABILITIES = dataclasses.replace(CAPABILITIES, narrows=True, packed_documents=True)
T = TypeVar("T")
# The store's file is attached under this name to an in-memory DuckDB instance (``_connect``).
_CATALOG = "store"
# The configuration (sampling rules, groups, statistics, leases) is a database of its own
# (``config_path``): a checkpoint blocks every commit to the database it checkpoints, and
# under 25,000 segments/s that made GetSamplingTargets, which commits, wait up to 0.55 s.
_CONFIG_CATALOG = "fluoro_config"
# Tables older files kept in the trace database (moved by ``_move_config``).
_CONFIG_TABLES = ("sampling_rules", "xray_groups", "sampling_statistics", "sampling_leases")
# The store's own threads (summarizer, checkpoints, DuckDB's workers) run at the writer's
# priority (fluoro.server lowers it by 3), below the UDP receiver's (fluoro.background).
_BACKGROUND_NICE = 3
log = logging.getLogger("fluoro.store")
_open_stores: weakref.WeakSet[DuckDBStore] = weakref.WeakSet()


@atexit.register
def _stop_background_threads() -> None:
    """Stop background threads of stores nobody closed before the interpreter goes away.

    A daemon thread inside a DuckDB call when the interpreter finalizes is killed as it
    takes the GIL back, which aborts the process ("FATAL: exception not rethrown").
    """
    for store in list(_open_stores):
        store._stop_background()


def _connect(config: DuckDBConfig) -> duckdb.DuckDBPyConnection:
    """The store's database, attached rather than opened: only ``ATTACH`` sets the row-group
    size, which DuckDB does not keep in the file.  A checkpoint rewrites the partly filled
    last row group of every table it appended to, so with DuckDB's default (122,880 rows) a
    checkpoint grew with the group: under 25,000 segments/s they took 0.2-1.35 s, and the
    segment writer waits for them.  With ``config.row_group_size`` rows they stay short."""
    settings: dict[str, Any] = {
        "memory_limit": config.memory_limit,
        "threads": config.threads,
        "checkpoint_threshold": config.checkpoint_threshold,
    }
    if config.path != ":memory:":  # spill files beside the store, where opening the file put them
        settings["temp_directory"] = config.path + ".tmp"
    db = duckdb.connect(config=settings)
    path = config.path.replace("'", "''")
    db.execute(f"ATTACH '{path}' AS {_CATALOG} (ROW_GROUP_SIZE {int(config.row_group_size)})")
    config_file = config_path(config.path).replace("'", "''")
    db.execute(f"ATTACH '{config_file}' AS {_CONFIG_CATALOG}")
    db.execute(f"USE {_CATALOG}")
    return db


def config_path(db_path: str) -> str:
    """Where the configuration database of the store at ``db_path`` is."""
    return db_path if db_path == ":memory:" else f"{db_path}.config"


class DuckDBStore:
    """Implements ``fluoro.store.api.Store``; ``write`` must come from one thread at a time."""

    def __init__(self, config: DuckDBConfig) -> None:
        self.config = config
        if config.path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(config.path)), exist_ok=True)
        self._db = _connect(config)
        schema = resources.files("fluoro.store.duckdb").joinpath("schema.sql").read_text()
        self._db.execute(schema)
        self._migrate()
        self._files = DocFiles(docs_dir(config.path)) if config.path != ":memory:" else None
        self._writer = ChunkWriter(self._db, config.chunk_docs, config.dict_chunk_docs, self._files)
        self._decompressors = Decompressors()
        # Chunk ids are the summarizer's and the rollup's cursors: never reuse one below them,
        # even after retention deleted every chunk.
        # The summarizer's and the rollup's marks as last committed: searches take them from
        # here (reader.find_traces); each job updates them after its commit.
        self._marks = read_marks(self._db)
        floor = max(self._marks.watermark, self._marks.graph_cursor) + 1
        self._writer.next_chunk = max(self._writer.next_chunk, floor)
        self._config_conn = self._config_cursor()
        self._config_store = DuckDBConfigStore(self._config_conn, self._config_cursor)
        self._move_config()
        self._write_lock = threading.Lock()
        # Background writes (service-graph rollup, trace summarizer, checkpoints) take turns
        # beside the segment writer: DuckDB refuses a checkpoint beside a transaction that updated
        # rows, and a commit waits for a running checkpoint anyway.
        self._graph_lock = threading.Lock()
        self._closed = False
        self._dirty = False
        self._stop = threading.Event()
        self._checkpointer: threading.Thread | None = None
        if config.path != ":memory:" and config.checkpoint_every > 0:
            self._checkpointer = threading.Thread(
                target=self._checkpoint_loop, name="fluoro-checkpoint", daemon=True
            )
            self._checkpointer.start()
        self._summarizer: threading.Thread | None = None
        if config.summarize_every > 0:
            self._summarizer = threading.Thread(target=self._summarize_loop, name="fluoro-summarizer", daemon=True)
            self._summarizer.start()
        self._written = 0  # segments written since open (the thread governor's write rate)
        self._threads_thread: threading.Thread | None = None
        host = HostIdle()
        if config.adapt_threads and config.threads > 1 and host.available:
            self._threads_thread = threading.Thread(
                target=self._threads_loop, args=(host, ThreadGovernor(config.threads)), name="fluoro-threads",
                daemon=True,
            )  # fmt: skip
            self._threads_thread.start()
        _open_stores.add(self)

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection of its own (readers run beside the writer), on the store's database."""
        cur = self._db.cursor()
        cur.execute(f"USE {_CATALOG}")
        return cur

    def _config_cursor(self) -> duckdb.DuckDBPyConnection:
        cur = self._db.cursor()
        cur.execute(f"USE {_CONFIG_CATALOG}")
        return cur

    def _move_config(self) -> None:
        """Move the configuration tables of a file from before ``config_path`` into it.

        DuckDB writes one database per transaction, so the copy commits first with a mark,
        then the old tables go: a crash between the two leaves the mark, and the next open
        only drops them.
        """
        present = {
            str(r[0]) for r in self._db.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = ?", [_CATALOG]).fetchall()
        }  # fmt: skip
        old = [t for t in _CONFIG_TABLES if t in present]
        if not old:
            return
        cfg = self._config_conn
        if cfg.execute("SELECT 1 FROM meta WHERE key = 'moved_from_store'").fetchone() is None:
            cfg.execute("BEGIN TRANSACTION")
            try:
                for table in old:
                    cfg.execute(f"DELETE FROM {table}")
                    cfg.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {_CATALOG}.{table}")
                cfg.execute(
                    f"INSERT OR REPLACE INTO meta SELECT key, value FROM {_CATALOG}.meta WHERE key = 'rules_modified'"
                )
                cfg.execute("INSERT INTO meta VALUES ('moved_from_store', '1')")
                cfg.execute("COMMIT")
            except BaseException:
                cfg.execute("ROLLBACK")
                raise
        self._db.execute("BEGIN TRANSACTION")
        try:
            for table in old:
                self._db.execute(f"DROP TABLE {table}")
            self._db.execute("DELETE FROM meta WHERE key = 'rules_modified'")
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        log.info("%s: configuration moved to %s", self.config.path, config_path(self.config.path))

    def _stop_background(self) -> None:
        self._stop.set()
        for thread in (self._checkpointer, self._summarizer, self._threads_thread):
            if thread is not None:
                thread.join()

    def _migrate(self) -> None:
        """Upgrade older files in place.

        Version 1 lacked ``traces`` (schema.sql just created it): the summarizer back-fills
        it.  Versions 1 and 2 kept the trace id as text in ``segments`` and ``graph_traces``;
        version 3 keeps only its first 32 random bits (``hi``), the rest being trace_time and
        trace_key, and no longer keeps ``graph_traces.first``/``last``, which nothing read.
        """
        self._db.execute("INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT DO NOTHING", [SCHEMA_VERSION])
        row = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        version = row[0] if row else SCHEMA_VERSION
        if version not in ("1", "2", SCHEMA_VERSION):
            raise RuntimeError(f"{self.config.path}: schema version {version} is newer than this fluoro knows")
        self._db.execute("BEGIN TRANSACTION")
        try:
            if "file" not in self._columns("chunks"):
                self._db.execute("ALTER TABLE chunks ALTER COLUMN data DROP NOT NULL")
            self._add_missing("chunks", ("dict", "INTEGER"), ("file", "INTEGER"), ("pos", "BIGINT"), ("size", "INTEGER"))
            self._add_missing("segments", ("chunk_raw", "INTEGER"), ("chunk_dict", "INTEGER"), ("chunk_file", "INTEGER"),
                              ("chunk_pos", "BIGINT"), ("chunk_size", "INTEGER"))  # fmt: skip
            for table in ("segments", "graph_traces"):
                columns = self._columns(table)
                if "trace_id" in columns:
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN hi UINTEGER")
                    self._db.execute(f"UPDATE {table} SET hi = ('0x' || substr(trace_id, 12, 8))::UINTEGER")
                    self._db.execute(f"ALTER TABLE {table} DROP COLUMN trace_id")
                for unused in ("first", "last") if table == "graph_traces" else ():
                    if unused in columns:
                        self._db.execute(f"ALTER TABLE {table} DROP COLUMN {unused}")
            self._db.execute("INSERT INTO meta VALUES (?, '-1') ON CONFLICT DO NOTHING", [trace_table.WATERMARK_KEY])
            self._db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [SCHEMA_VERSION])
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        if version != SCHEMA_VERSION:
            log.info("%s: schema %s -> %s", self.config.path, version, SCHEMA_VERSION)
        if version == "1":
            log.info("%s: the trace table fills in the background", self.config.path)

    def _columns(self, table: str) -> set[str]:
        return {r[0] for r in self._db.execute(f"DESCRIBE {table}").fetchall()}

    def _add_missing(self, table: str, *columns: tuple[str, str]) -> None:
        """Add the (name, type) columns ``table`` lacks (nullable: older rows have no value)."""
        present = self._columns(table)
        for name, sql_type in columns:
            if name not in present:
                self._db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {sql_type}")

    def summarize(self) -> tuple[int, bool]:
        """One summarizer cycle: (segments summarized, caught up with everything committed)."""
        with self._graph_lock:  # no checkpoint meanwhile: reading meta does not wait for one
            out = self._read(trace_table.summarize, max(1, self.config.summarize_segments // self.config.dict_chunk_docs))
            self._marks = self._read(read_marks)
        if out[0]:
            self._dirty = True
        return out

    def wait_summarized(self, timeout: float) -> bool:
        """Run summarizer cycles until the trace table covers every committed chunk (or ``timeout``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.summarize()[1]:
                return True
        return False

    def _summarize_loop(self) -> None:
        """Keep ``traces`` within a cycle of the writer; a backlog (an old file) runs cycle after cycle."""
        lower_thread_priority(_BACKGROUND_NICE)
        caught_up = True
        while not self._stop.wait(self.config.summarize_every if caught_up else 0.0):
            try:
                caught_up = self.summarize()[1]
            except duckdb.Error:
                caught_up = True  # retry after the interval; queries aggregate live meanwhile
                log.warning("trace summarizer cycle failed; the next one retries", exc_info=True)

    def _threads_loop(self, host: HostIdle, governor: ThreadGovernor, every: float = 1.0) -> None:
        # DuckDB's workers are started by the thread that sets their number: they inherit this.
        lower_thread_priority(_BACKGROUND_NICE)
        cur = self._cursor()
        written, at = self._written, time.monotonic()
        try:
            while not self._stop.wait(every):
                now = time.monotonic()
                rate = (self._written - written) / max(now - at, 1e-3)
                written, at = self._written, now
                self._adapt_threads(cur, governor.decide(host.sample(), rate))
        finally:
            cur.close()

    def _adapt_threads(self, cur: duckdb.DuckDBPyConnection, threads: int | None) -> None:
        if threads is None:
            return
        try:
            cur.execute(f"SET threads = {int(threads)}")
        except duckdb.Error:
            log.warning("could not set DuckDB's threads to %d", threads, exc_info=True)
        else:
            log.info("DuckDB threads: %d (%s)", threads, "heavy writes on busy CPUs" if threads == 1 else "load eased")

    def _checkpoint_loop(self) -> None:
        """Checkpoint beside the writer: DuckDB lets appends commit meanwhile."""
        lower_thread_priority(_BACKGROUND_NICE)
        cur = self._cursor()
        try:
            while not self._stop.wait(self.config.checkpoint_every):
                if not self._dirty:
                    continue
                self._dirty = False
                self._checkpoint(cur)
        finally:
            cur.close()

    def _checkpoint(self, cur: duckdb.DuckDBPyConnection, attempts: int = 10) -> None:
        """Hold off the segment writer and the rollup/summarizer meanwhile: their commits would
        wait for the checkpoint anyway, and DuckDB (2.0.1) refuses to checkpoint beside a
        transaction that has updated rows (appends and deletes it allows).  A failed
        checkpoint is not harmless: the WAL grows until a commit checkpoints inline, stalling
        ingest for longer.  Other writers (configuration, in its own database now) are short:
        retry a few times."""
        for attempt in range(attempts):
            try:
                with self._graph_lock, self._write_lock:
                    cur.execute("CHECKPOINT")
                return
            except duckdb.TransactionException:
                if attempt + 1 == attempts:
                    log.warning("background checkpoint failed %d times; the next one retries", attempts)
                    self._dirty = True
                    return
                time.sleep(0.02)
            except duckdb.Error:
                log.warning("background checkpoint failed; the next one retries", exc_info=True)
                self._dirty = True
                return

    def capabilities(self) -> Capabilities:
        return _CAPABILITIES

    def write(self, batch: ArrowBatch) -> None:
        if not len(batch):
            return
        with self._write_lock:
            self._writer.write(batch)
            self._written += len(batch)
        self._dirty = True

    def documents(self, trace_ids: Sequence[str]) -> list[StoredDocument]:
        return self._read(read_documents, trace_ids, self._decompressors, self._files)

    def find_traces(self, query: TraceQuery) -> TracePage:
        return self._read(find_traces, query, self._marks)

    def _read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(cursor, *args)`` on a cursor of its own (concurrent with the writer)."""
        cur = self._cursor()
        try:
            return fn(cur, *args)
        finally:
            cur.close()

    def graph_cursor(self) -> int:
        return self._read(graph.cursor)

    def graph_changes(self, cursor: int, limit: int | None = None) -> list[tuple[str, int]]:
        # A span of chunks holding about ``limit`` documents (at least as many as traces).
        chunks = None if limit is None else max(1, limit // self.config.dict_chunk_docs)
        return self._read(graph.changes, cursor, chunks)

    def graph_replace(
        self, rows: dict[str, list[GraphRow]], cursor: int, facts: dict[str, list[NodeFact]] | None = None
    ) -> None:
        with self._graph_lock:  # no checkpoint meanwhile: reading meta does not wait for one
            self._read(graph.replace, rows, cursor, facts)
            self._marks = self._read(read_marks)
        self._dirty = True

    def graph_keys(self, start: float, end: float) -> list[str]:
        return self._read(graph.read_keys, start, end)

    def graph_rows(
        self, start: float, end: float, period: int | None = None, keys: Sequence[str] | None = None
    ) -> list[GraphRow]:
        return self._read(graph.read_rows, start, end, period, keys)

    def delete_before(self, received_before: float) -> int:
        with self._graph_lock:
            self._read(graph.delete_before, received_before)
            with self._write_lock:
                row = self._db.execute(
                    "SELECT count(*) FROM segments WHERE received < ?", [received_before]
                ).fetchone()
                n = int(row[0]) if row else 0
                if n:
                    self._db.execute("BEGIN TRANSACTION")
                    try:
                        trace_table.prune(self._db, received_before)
                        self._db.execute("DELETE FROM segments WHERE received < ?", [received_before])
                        self._db.execute("DELETE FROM annotations WHERE received < ?", [received_before])
                        self._db.execute("DELETE FROM chunks WHERE received < ?", [received_before])
                        self._db.execute("COMMIT")
                    except BaseException:
                        self._db.execute("ROLLBACK")
                        raise
                    if self._files is not None:
                        row = self._db.execute("SELECT min(file) FROM chunks").fetchone()
                        self._files.remove_below(int(row[0]) if row and row[0] is not None else 2**31 - 1)
                    self._dirty = True
                return n

    def stats(self) -> dict[str, float]:
        row = self._read(lambda cur: cur.execute("SELECT count(*) FROM segments").fetchone())
        return {"segments": float(row[0]) if row else 0.0}

    def config_store(self) -> DuckDBConfigStore:
        return self._config_store

    def checkpoint(self) -> None:
        with self._graph_lock, self._write_lock:
            self._db.execute("CHECKPOINT")
        self._config_conn.execute("CHECKPOINT")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop_background()
        _open_stores.discard(self)
        with self._graph_lock, self._write_lock:
            try:
                self._db.execute("CHECKPOINT")
                self._config_conn.execute("CHECKPOINT")
            finally:
                self._db.close()
                if self._files is not None:
                    self._files.close()

"""Document chunks in files beside the DuckDB file (fluoro.store.duckdb.doc_files)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
import zstandard

from fluoro.store import doc_markers
from fluoro.store.duckdb import DuckDBConfig, DuckDBStore, doc_files

from ..helpers_docs import segment
from .test_conformance import batch_of


def open_store(path: str) -> DuckDBStore:
    return DuckDBStore(DuckDBConfig(path=path, summarize_every=0, checkpoint_every=0))


def docs_by_id(store: DuckDBStore, docs: list[dict[str, Any]]) -> dict[str, bytes]:
    return {s.id: s.doc for s in store.documents(sorted({d["trace_id"] for d in docs}))}


def expected(docs: list[dict[str, Any]]) -> dict[str, bytes]:
    return {d["id"]: json.dumps(d).encode() for d in docs}


def files_in(path: str) -> list[str]:
    return sorted(os.listdir(doc_files.docs_dir(path)))


def written(tmp_path: Path, docs: list[dict[str, Any]]) -> str:
    """A store file holding ``docs``, closed."""
    path = str(tmp_path / "t.duckdb")
    store = open_store(path)
    try:
        store.write(batch_of(*docs))
    finally:
        store.close()
    return path


def reads_back(path: str, docs: list[dict[str, Any]], more: int = 0) -> None:
    """Reopen ``path``, write ``more`` new documents, and read back every document byte for byte."""
    added = [segment() for _ in range(more)]
    store = open_store(path)
    try:
        if added:
            store.write(batch_of(*added))
        assert docs_by_id(store, docs + added) == expected(docs + added)
    finally:
        store.close()


def test_chunks_live_in_the_files_and_read_back_after_reopen(tmp_path: Path) -> None:
    path = str(tmp_path / "t.duckdb")
    docs = [segment(annotations={"i": i}, metadata={"pad": "x" * (i % 50)}) for i in range(500)]
    store = open_store(path)
    try:
        store.write(batch_of(*docs[:250]))
        store.write(batch_of(*docs[250:]))
        assert docs_by_id(store, docs) == expected(docs)
    finally:
        store.close()
    conn = duckdb.connect(path, read_only=True)
    try:
        inline, outside = conn.execute("SELECT count(data), count(file) FROM chunks").fetchone()  # type: ignore[misc]
        size = conn.execute("SELECT sum(size) FROM chunks").fetchone()[0]  # type: ignore[index]
    finally:
        conn.close()
    assert inline == 0 and outside > 0
    assert sum(os.path.getsize(os.path.join(doc_files.docs_dir(path), f)) for f in files_in(path)) == size
    reads_back(path, docs, more=50)  # a new run appends to a new file and reads the old one
    assert len(files_in(path)) == 2


def test_chunks_an_older_file_kept_inline_still_read(tmp_path: Path) -> None:
    docs = [segment() for _ in range(300)]
    path = written(tmp_path, docs)
    # What an older file holds: the compressed bytes in chunks.data, no files beside it.
    conn = duckdb.connect(path)
    rows = conn.execute("SELECT chunk, file, pos, size FROM chunks").fetchall()
    for chunk, number, pos, size in rows:
        with open(os.path.join(doc_files.docs_dir(path), f"{number:08d}.zst"), "rb") as fh:
            fh.seek(pos)
            data = fh.read(size)
        conn.execute("UPDATE chunks SET data = ?, file = NULL, pos = NULL, size = NULL WHERE chunk = ?", [data, chunk])
    for column in ("dict", "file", "pos", "size"):  # schema 2's chunks and segments tables
        conn.execute(f"ALTER TABLE chunks DROP COLUMN {column}")
    for column in ("chunk_raw", "chunk_dict", "chunk_file", "chunk_pos", "chunk_size"):
        conn.execute(f"ALTER TABLE segments DROP COLUMN {column}")
    conn.execute("ALTER TABLE chunks ALTER COLUMN data SET NOT NULL")
    conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    conn.close()
    for name in files_in(path):
        os.unlink(os.path.join(doc_files.docs_dir(path), name))
    reads_back(path, docs, more=100)


def test_rows_that_do_not_name_their_chunks_place_read_it_from_chunks(tmp_path: Path) -> None:
    # Files written while chunks already lived in the files but segments rows did not yet
    # repeat where (their chunk_* columns came as NULLs): the read looks the place up.
    docs = [segment() for _ in range(200)]
    path = written(tmp_path, docs)
    conn = duckdb.connect(path)
    conn.execute("UPDATE segments SET chunk_raw = NULL, chunk_dict = NULL, chunk_file = NULL,"
                 " chunk_pos = NULL, chunk_size = NULL")  # fmt: skip
    conn.close()
    reads_back(path, docs)


def test_documents_stored_with_a_parent_marker_get_their_parent_id_back(tmp_path: Path) -> None:
    # Earlier versions replaced the parent id in the text by a marker byte as well.
    parent = segment()
    children = [segment(trace_id=parent["trace_id"], parent_id=parent["id"]) for _ in range(5)]
    path = written(tmp_path, [parent, *children])
    conn = duckdb.connect(path)
    rewritten = 0
    for chunk, number, pos, size, raw_size, dict_id in conn.execute(
        "SELECT chunk, file, pos, size, raw_size, dict FROM chunks"
    ).fetchall():
        with open(os.path.join(doc_files.docs_dir(path), f"{number:08d}.zst"), "rb") as fh:
            fh.seek(pos)
            blob = fh.read(size)
        assert dict_id is None  # too few documents for a dictionary
        raw = zstandard.ZstdDecompressor().decompress(blob, max_output_size=raw_size)
        older = raw.replace(parent["id"].encode(), doc_markers.PARENT_ID)
        rewritten += older.count(doc_markers.PARENT_ID)
        # Same length: every replaced id is 16 bytes, the marker 1, so shift offsets like the old writer.
        rows = conn.execute("SELECT id, off, len FROM segments WHERE chunk = ? ORDER BY off", [chunk]).fetchall()
        pieces, at = [], 0
        for seg_id, off, length in rows:
            piece = raw[off : off + length].replace(parent["id"].encode(), doc_markers.PARENT_ID)
            conn.execute("UPDATE segments SET off = ?, len = ? WHERE chunk = ? AND id = ?", [at, len(piece), chunk, seg_id])
            pieces.append(piece)
            at += len(piece)
        data = zstandard.ZstdCompressor().compress(b"".join(pieces))
        conn.execute("UPDATE chunks SET data = ?, file = NULL, pos = NULL, size = NULL, raw_size = ? WHERE chunk = ?",
                     [data, at, chunk])  # fmt: skip
        conn.execute("UPDATE segments SET chunk_raw = NULL, chunk_dict = NULL, chunk_file = NULL, chunk_pos = NULL,"
                     " chunk_size = NULL WHERE chunk = ?", [chunk])  # fmt: skip
    conn.close()
    assert rewritten == 5
    reads_back(path, [parent, *children])


def test_retention_deletes_files_no_chunk_needs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doc_files, "ROLL_BYTES", 1)  # a new file for every batch
    path = str(tmp_path / "t.duckdb")
    now = time.time()
    old = [segment() for _ in range(100)]
    new = [segment() for _ in range(100)]
    store = open_store(path)
    try:
        store.write(batch_of(*old[:50], received=now - 7200))
        store.write(batch_of(*old[50:], received=now - 7200))
        store.write(batch_of(*new, received=now))
        assert len(files_in(path)) == 3
        store.delete_before(now - 3600)
        assert len(files_in(path)) == 1
        assert docs_by_id(store, old + new) == expected(new)
    finally:
        store.close()


def test_a_chunk_whose_file_is_gone_is_skipped_not_raised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A read racing retention loses what retention removed, nothing else."""
    monkeypatch.setattr(doc_files, "ROLL_BYTES", 1)
    path = str(tmp_path / "t.duckdb")
    first, second = [segment() for _ in range(40)], [segment() for _ in range(40)]
    store = open_store(path)
    try:
        store.write(batch_of(*first))
        store.write(batch_of(*second))
        os.unlink(os.path.join(doc_files.docs_dir(path), files_in(path)[0]))
        assert docs_by_id(store, first + second) == expected(second)
    finally:
        store.close()


def test_bytes_of_a_batch_that_never_committed_are_ignored(tmp_path: Path) -> None:
    path = str(tmp_path / "t.duckdb")
    docs = [segment() for _ in range(60)]
    store = open_store(path)
    writer = store._writer
    real = writer.conn

    class FailChunks:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def execute(self, sql: str, *args: Any) -> Any:
            if sql.startswith("INSERT INTO chunks"):
                raise duckdb.IOException("disk full (simulated)")
            return real.execute(sql, *args)

    try:
        writer.conn = FailChunks()  # type: ignore[assignment]
        with pytest.raises(duckdb.IOException):
            store.write(batch_of(*docs[:30]))
        writer.conn = real
        store.write(batch_of(*docs[30:]))
        assert docs_by_id(store, docs) == expected(docs[30:])
    finally:
        store.close()

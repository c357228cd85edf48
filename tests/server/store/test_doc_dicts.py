"""Trained zstd dictionaries for document chunks (fluoro.store.duckdb.doc_dicts)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import duckdb
import pytest

from fluoro.store.duckdb import DuckDBConfig, DuckDBStore, doc_dicts

from ..helpers_docs import new_id, segment
from .test_conformance import batch_of

SERVICES = ["checkout", "payments", "inventory", "search", "auth"]


def typical(rng: random.Random) -> dict[str, Any]:
    """A document with the structure and variety real traffic has (so training has something to learn)."""
    name = rng.choice(SERVICES)
    subs = [
        {"id": new_id(), "name": rng.choice(["DynamoDB", "S3", "SQS", "requests"]), "namespace": "aws",
         "start_time": 1.5e9 + rng.random(), "end_time": 1.5e9 + 1 + rng.random(),
         "aws": {"operation": rng.choice(["GetItem", "PutItem", "Query"]), "region": "eu-west-1",
                 "request_id": "%032x" % rng.getrandbits(128), "table_name": f"t{rng.randrange(20)}"},
         "http": {"response": {"status": rng.choice([200, 200, 200, 400, 500])}}}
        for _ in range(rng.randrange(1, 5))
    ]  # fmt: skip
    return segment(
        name=name, origin="AWS::ECS::Container",
        http={"request": {"method": rng.choice(["GET", "POST"]), "url": f"https://{name}.local/api/{rng.randrange(10**6)}",
                          "user_agent": "python-requests/2.31", "client_ip": f"10.0.{rng.randrange(255)}.{rng.randrange(255)}"},
              "response": {"status": 200, "content_length": rng.randrange(10**5)}},
        annotations={"customer": f"c{rng.randrange(1000)}"}, subsegments=subs,
        aws={"ecs": {"container": f"{name}-{rng.randrange(50)}"}, "xray": {"sdk": "X-Ray for Python", "sdk_version": "2.15.0"}},
    )  # fmt: skip


def write_all(store: DuckDBStore, docs: list[dict[str, Any]], per_batch: int = 400) -> None:
    for i in range(0, len(docs), per_batch):
        store.write(batch_of(*docs[i : i + per_batch]))


def chunk_dicts(path: str) -> list[int | None]:
    conn = duckdb.connect(path, read_only=True)
    try:
        return [r[0] for r in conn.execute("SELECT dict FROM chunks ORDER BY chunk").fetchall()]
    finally:
        conn.close()


def read_back(store: DuckDBStore, docs: list[dict[str, Any]]) -> dict[str, bytes]:
    got = store.documents(sorted({d["trace_id"] for d in docs}))
    return {s.id: s.doc for s in got}


def write_and_read_back(path: str, docs: list[dict[str, Any]]) -> list[int | None]:
    """Store ``docs`` in a new file, check every one reads back byte for byte; the chunks' dictionaries."""
    store = DuckDBStore(DuckDBConfig(path=path, summarize_every=0))
    try:
        write_all(store, docs)
        assert read_back(store, docs) == {d["id"]: json.dumps(d).encode() for d in docs}
    finally:
        store.close()
    return chunk_dicts(path)


@pytest.fixture
def small_training(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doc_dicts, "TRAIN_BYTES", 200_000)
    monkeypatch.setattr(doc_dicts, "TRAIN_MIN_DOCS", 100)


def test_first_dictionary_is_trained_and_every_document_reads_back(tmp_path: Path, small_training: None) -> None:
    rng = random.Random(7)
    docs = [typical(rng) for _ in range(3000)]
    path = str(tmp_path / "d.duckdb")
    store = DuckDBStore(DuckDBConfig(path=path, summarize_every=0))
    try:
        write_all(store, docs, per_batch=100)  # the first batch is too small to train on
        expected = {d["id"]: json.dumps(d).encode() for d in docs}
        assert read_back(store, docs) == expected
    finally:
        store.close()
    dicts = chunk_dicts(path)
    # Plain chunks of 128 until the sample was big enough, then chunks of 32 with dictionary 1.
    assert dicts[0] is None and dicts[-1] == 1
    assert dicts == sorted(dicts, key=lambda d: -1 if d is None else d)
    store = DuckDBStore(DuckDBConfig(path=path, summarize_every=0))  # a fresh reader loads the dictionary
    try:
        assert read_back(store, docs) == expected
    finally:
        store.close()


def test_retraining_keeps_old_chunks_readable(tmp_path: Path, small_training: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doc_dicts, "RETRAIN_DOCS", 1000)
    rng = random.Random(8)
    docs = [typical(rng) for _ in range(5000)]
    used = {d for d in write_and_read_back(str(tmp_path / "d.duckdb"), docs) if d is not None}
    assert len(used) >= 3


def test_a_failed_batch_does_not_lose_the_new_dictionary(tmp_path: Path, small_training: None) -> None:
    """The dictionary row goes in with the first batch that commits, not only the one that trained it."""
    rng = random.Random(9)
    docs = [typical(rng) for _ in range(2400)]
    path = str(tmp_path / "d.duckdb")
    store = DuckDBStore(DuckDBConfig(path=path, summarize_every=0))
    writer = store._writer
    real = writer.conn

    class FailOnce:
        failed = False

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def execute(self, sql: str, *args: Any) -> Any:
            if sql.startswith("INSERT INTO chunks") and writer.compressor.unsaved and not FailOnce.failed:
                FailOnce.failed = True
                raise duckdb.IOException("disk full (simulated)")
            return real.execute(sql, *args)

    writer.conn = FailOnce()  # type: ignore[assignment]
    failed_batches = 0
    try:
        for i in range(0, len(docs), 400):
            try:
                store.write(batch_of(*docs[i : i + 400]))
            except duckdb.IOException:
                failed_batches += 1
        writer.conn = real
        assert failed_batches == 1 and FailOnce.failed
        stored = read_back(store, docs)
        kept = [d for d in docs if d["id"] in stored]
        assert len(kept) == len(docs) - 400
        assert read_back(store, kept) == {d["id"]: json.dumps(d).encode() for d in kept}
    finally:
        store.close()
    assert 1 in chunk_dicts(path)


def test_bytes_that_are_not_worth_a_dictionary_stay_plain(tmp_path: Path, small_training: None) -> None:
    """Below the training threshold nothing is trained; the file stays readable by older readers' rules."""
    docs = [segment() for _ in range(300)]
    assert set(write_and_read_back(str(tmp_path / "d.duckdb"), docs)) == {None}

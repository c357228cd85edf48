"""sqlite3 through the patcher, on a real database file; upstream as the oracle."""

from __future__ import annotations

import sqlite3

import pytest

from fluoro.core import patch
from fluoro.ext import sqlite3 as sqlite3_patch

from ..oracle import assert_same, run_both, upstream_patched


@pytest.fixture(autouse=True, scope="module")
def _patched():  # type: ignore[no-untyped-def]
    """Patched for this module only: other tests see the libraries as they are."""
    patch(("sqlite3",))
    yield
    sqlite3_patch.unpatch()


def _scenario(path: str):  # type: ignore[no-untyped-def]
    def scenario(rec) -> None:  # type: ignore[no-untyped-def]
        conn = sqlite3.connect(path)
        with rec.in_segment("app"):
            conn.execute("create table if not exists t (id integer primary key, v text)")
            cur = conn.cursor()
            cur.executemany("insert into t (v) values (?)", [("a",), ("b",)])
            cur.execute("select count(*) from t")
            try:
                cur.execute("select * from missing_table")
            except sqlite3.OperationalError:
                pass
        conn.close()
    return scenario


def test_same_subsegments_as_upstream(recorders, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with upstream_patched("sqlite3", [("sqlite3", "connect")]):
        result = run_both(recorders, _scenario(str(tmp_path / "db.sqlite")))
    assert_same(result)
    (doc,) = result["fluoro"]
    names = [(s["name"], s["namespace"]) for s in doc["subsegments"]]
    assert names == [(str(tmp_path / "db.sqlite"), "remote")] * 4
    assert doc["subsegments"][0]["sql"] == {"database_type": "sqlite3", "database_version": sqlite3.sqlite_version}
    assert doc["subsegments"][-1]["fault"] is True
    assert doc["subsegments"][-1]["exceptions"][0][0] == "OperationalError"


def test_results_are_unchanged_and_cursor_chains(recorder) -> None:  # type: ignore[no-untyped-def]
    conn = sqlite3.connect(":memory:")
    recorder.begin_segment("app")
    rows = conn.execute("select 1 union select 2").fetchall()
    with conn:
        conn.execute("create table t (v)")
    cur = conn.cursor().execute("select 3")
    assert cur.execute("select 4").fetchone() == (4,)
    recorder.end_segment()
    assert rows == [(1,), (2,)]
    names = [s["name"] for s in recorder.captured.documents[0]["subsegments"]]
    assert names == [":memory:"] * 4


def test_no_segment_is_untraced_and_harmless(recorder) -> None:  # type: ignore[no-untyped-def]
    recorder.configure(context_missing="LOG_ERROR")
    conn = sqlite3.connect(":memory:")
    assert conn.execute("select 1").fetchone() == (1,)
    assert recorder.captured.documents == []


def test_database_given_by_keyword(recorder) -> None:  # type: ignore[no-untyped-def]
    conn = sqlite3.connect(database=":memory:")
    with recorder.in_segment("app"):
        conn.execute("select 1")
    assert recorder.captured.documents[0]["subsegments"][0]["name"] == ":memory:"


@pytest.mark.parametrize("stream_sql", [True, False])
def test_statement_text_is_never_recorded(recorder, stream_sql) -> None:  # type: ignore[no-untyped-def]
    # As upstream: raw DB-API drivers record no sanitized_query.
    recorder.configure(stream_sql=stream_sql)
    conn = sqlite3.connect(":memory:")
    with recorder.in_segment("app"):
        conn.execute("select 'secret'")
    assert "sanitized_query" not in recorder.captured.documents[0]["subsegments"][0]["sql"]

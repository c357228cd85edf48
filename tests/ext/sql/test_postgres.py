"""psycopg2, psycopg 3 (and its pool) and pg8000 against a real PostgreSQL server; upstream as the oracle."""

from __future__ import annotations

import pg8000
import psycopg
import psycopg2
import psycopg2.extensions
import psycopg2.extras
import psycopg_pool
import pytest

from fluoro.core import patch
from fluoro.ext import pg8000 as pg8000_patch
from fluoro.ext import psycopg as psycopg_patch
from fluoro.ext import psycopg2 as psycopg2_patch

from ..oracle import assert_same, run_both, upstream_patched


@pytest.fixture(autouse=True, scope="module")
def _patched():  # type: ignore[no-untyped-def]
    """Patched for this module only: other tests see the libraries as they are."""
    patch(("psycopg2", "psycopg", "pg8000"))
    yield
    psycopg2_patch.unpatch()
    psycopg_patch.unpatch()
    pg8000_patch.unpatch()


def _psycopg2_connect(db):  # type: ignore[no-untyped-def]
    return psycopg2.connect(host=db["host"], port=db["port"], user=db["user"], password=db["password"],
                            dbname=db["dbname"])


def _psycopg_connect(db):  # type: ignore[no-untyped-def]
    return psycopg.connect(host=db["host"], port=db["port"], user=db["user"], password=db["password"],
                           dbname=db["dbname"])


def _statements(conn, rec, error_type) -> None:  # type: ignore[no-untyped-def]
    with rec.in_segment("app"):
        cur = conn.cursor()
        cur.execute("create table if not exists items (id serial primary key, name text)")
        cur.executemany("insert into items (name) values (%s)", [("a",), ("b",)])
        cur.execute("select count(*) from items")
        cur.fetchone()
        try:
            cur.execute("select * from no_such_table")
        except error_type:
            pass
    conn.rollback()
    conn.close()


def _expected_sql(db, server_version, driver) -> dict:  # type: ignore[no-untyped-def]
    return {"database_type": "PostgreSQL",
            "url": "postgresql://%s@%s:%s/%s" % (db["user"], db["host"], db["port"], db["dbname"]),
            "user": db["user"], "database_version": str(server_version), "driver_version": driver}


def test_psycopg2_matches_upstream(recorders, postgres) -> None:  # type: ignore[no-untyped-def]
    targets = [("psycopg2", "connect"), ("psycopg2.extensions", "register_type"),
               ("psycopg2.extensions", "quote_ident"), ("psycopg2.extras", "register_default_jsonb")]
    with upstream_patched("psycopg2", targets):
        result = run_both(recorders, lambda rec: _statements(_psycopg2_connect(postgres), rec, psycopg2.Error))
    assert_same(result)
    subs = result["fluoro"][0]["subsegments"]
    assert [(s["name"], s["namespace"]) for s in subs] == [("execute", "remote"), ("executemany", "remote"),
                                                          ("execute", "remote"), ("execute", "remote")]
    version = _psycopg2_connect(postgres).server_version
    assert subs[0]["sql"] == _expected_sql(postgres, version, "Psycopg 2")
    assert postgres["password"] not in str(subs)
    assert subs[-1]["fault"] and subs[-1]["exceptions"][0][0] == "UndefinedTable"


def test_psycopg2_helpers_accept_traced_objects(recorder, postgres) -> None:  # type: ignore[no-untyped-def]
    conn = _psycopg2_connect(postgres)
    psycopg2.extras.register_default_jsonb(conn_or_curs=conn)
    psycopg2.extras.register_default_jsonb(conn.cursor())
    assert psycopg2.extensions.quote_ident("a b", conn) == '"a b"'
    with recorder.in_segment("app"):
        with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute("select '{\"k\": 1}'::jsonb as doc")
            assert cur.fetchone() == {"doc": {"k": 1}}
    assert recorder.captured.documents[0]["subsegments"][0]["name"] == "execute"


def test_psycopg3_matches_upstream(recorders, postgres) -> None:  # type: ignore[no-untyped-def]
    targets = [("psycopg", "connect"), ("psycopg_pool.pool", "ConnectionPool._connect")]
    with upstream_patched("psycopg", targets):
        result = run_both(recorders, lambda rec: _statements(_psycopg_connect(postgres), rec, psycopg.Error))
    assert_same(result)
    subs = result["fluoro"][0]["subsegments"]
    version = _psycopg_connect(postgres).info.server_version
    assert subs[0]["sql"] == _expected_sql(postgres, version, "Psycopg 3")
    assert subs[-1]["exceptions"][0][0] == "UndefinedTable"


def test_psycopg3_with_block_and_connection_execute_are_traced(recorder, postgres) -> None:  # type: ignore[no-untyped-def]
    # Upstream: ``with psycopg.connect() as conn`` returns the untraced connection, and
    # ``conn.execute`` bypasses the traced cursor; fluoro traces both.
    with recorder.in_segment("app"):
        with _psycopg_connect(postgres) as conn:
            assert conn.execute("select 41 + 1").fetchone() == (42,)
            with conn.cursor() as cur:
                assert cur.execute("select 1").fetchone() == (1,)
    subs = recorder.captured.documents[0]["subsegments"]
    assert [s["name"] for s in subs] == ["execute", "execute"]
    assert all(s["sql"]["driver_version"] == "Psycopg 3" for s in subs)


def test_psycopg3_pool_connections_are_traced(recorder, postgres) -> None:  # type: ignore[no-untyped-def]
    conninfo = "host=%(host)s port=%(port)s user=%(user)s dbname=%(dbname)s" % postgres
    with psycopg_pool.ConnectionPool(conninfo, min_size=1, max_size=2, open=True) as pool:
        with recorder.in_segment("app"):
            with pool.connection() as conn:
                with conn.cursor() as cur:
                    cur.execute("select 1")
                    assert cur.fetchone() == (1,)
                conn.execute("select 2")
    subs = recorder.captured.documents[0]["subsegments"]
    assert [s["name"] for s in subs] == ["execute", "execute"]
    assert subs[0]["sql"]["url"] == "postgresql://%(user)s@%(host)s:%(port)s/%(dbname)s" % postgres


def test_pg8000(recorders, postgres) -> None:  # type: ignore[no-untyped-def]
    def scenario(rec) -> None:  # type: ignore[no-untyped-def]
        conn = pg8000.connect(postgres["user"], host=postgres["host"], port=postgres["port"],
                              database=postgres["dbname"], password=postgres["password"])
        _statements(conn, rec, pg8000.dbapi.DatabaseError)

    with upstream_patched("pg8000", [("pg8000", "connect")]):
        try:
            result = run_both(recorders, scenario)
            upstream_failed = None
        except AttributeError as error:  # upstream reads ``conn.user``, gone after pg8000 1.20
            upstream_failed = error
    if upstream_failed is None:
        # pg8000 >= 1.21 has no ``_server_version``: upstream drops database_version, fluoro
        # reads the server's ``server_version`` parameter status instead.
        for sub in result["fluoro"][0]["subsegments"]:
            assert sub["sql"].pop("database_version").split(".")[0].isdigit()
        assert result["fluoro"] == result["upstream"]
    recorders["fluoro"].emitter.documents.clear()
    scenario(recorders["fluoro"])
    subs = recorders["fluoro"].emitter.documents[0]["subsegments"]
    assert [s["name"] for s in subs] == ["execute", "executemany", "execute", "execute"]
    sql = subs[0]["sql"]
    assert sql["database_type"] == "PostgreSQL" and sql["driver_version"] == "Pg8000"
    assert sql["user"] == postgres["user"]
    assert sql["database_version"].split(".")[0].isdigit()
    assert subs[-1]["fault"] is True


@pytest.mark.parametrize("driver", ["psycopg2", "psycopg"])
def test_unsampled_segment_records_nothing(recorder, postgres, driver) -> None:  # type: ignore[no-untyped-def]
    conn = _psycopg2_connect(postgres) if driver == "psycopg2" else _psycopg_connect(postgres)
    recorder.begin_segment("app", sampling=0)
    cur = conn.cursor()
    cur.execute("select 1")
    assert cur.fetchone() == (1,)
    recorder.end_segment()
    assert recorder.captured.documents == []

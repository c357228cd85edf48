"""PyMySQL and mysql-connector against a real MariaDB server; upstream as the oracle."""

from __future__ import annotations

import mysql.connector
import pymysql
import pytest

from fluoro.core import patch
from fluoro.ext import mysql as mysql_patch
from fluoro.ext import pymysql as pymysql_patch

from ..oracle import assert_same, run_both, upstream_patched


@pytest.fixture(autouse=True, scope="module")
def _patched():  # type: ignore[no-untyped-def]
    """Patched for this module only: other tests see the libraries as they are."""
    patch(("pymysql", "mysql"))
    yield
    pymysql_patch.unpatch()
    mysql_patch.unpatch()


def _statements(conn, rec, error_type) -> None:  # type: ignore[no-untyped-def]
    with rec.in_segment("app"):
        cur = conn.cursor()
        cur.execute("create table if not exists items (id int auto_increment primary key, name text)")
        cur.executemany("insert into items (name) values (%s)", [("a",), ("b",)])
        cur.execute("select count(*) from items")
        cur.fetchall()
        try:
            cur.execute("select * from no_such_table")
        except error_type:
            pass
    conn.close()


def _pymysql(db):  # type: ignore[no-untyped-def]
    return pymysql.connect(host=db["host"], port=db["port"], user=db["user"], password=db["password"],
                           database=db["dbname"])


def _connector(db):  # type: ignore[no-untyped-def]
    return mysql.connector.connect(host=db["host"], port=db["port"], user=db["user"], password=db["password"],
                                   database=db["dbname"])


def test_pymysql(recorders, mariadb) -> None:  # type: ignore[no-untyped-def]
    with upstream_patched("pymysql", [("pymysql", "connect"), ("pymysql", "Connect")]):
        try:
            result = run_both(recorders, lambda rec: _statements(_pymysql(mariadb), rec, pymysql.Error))
            upstream_failed = None
        except AttributeError as error:  # upstream decodes ``conn.user``, a str since PyMySQL 1.0
            upstream_failed = error
    fluoro_rec = recorders["fluoro"]
    if upstream_failed is None:
        assert result["fluoro"] == result["upstream"]
    else:
        fluoro_rec.emitter.documents.clear()
        _statements(_pymysql(mariadb), fluoro_rec, pymysql.Error)
    subs = fluoro_rec.emitter.documents[0]["subsegments"]
    assert [(s["name"], s["namespace"]) for s in subs] == [("execute", "remote"), ("executemany", "remote"),
                                                          ("execute", "remote"), ("execute", "remote")]
    sql = subs[0]["sql"]
    assert sql["database_type"] == "MySQL" and sql["driver_version"] == "PyMySQL"
    assert sql["user"] == mariadb["user"]
    assert "MariaDB" in sql["database_version"]
    assert mariadb["password"] not in str(subs)
    assert subs[-1]["fault"] is True
    assert subs[-1]["cause"]["exceptions"][0]["type"] == "ProgrammingError"


def test_mysql_connector_matches_upstream(recorders, mariadb) -> None:  # type: ignore[no-untyped-def]
    targets = [("mysql.connector", "connect"), ("mysql.connector", "Connect")]
    with upstream_patched("mysql", targets):
        result = run_both(recorders, lambda rec: _statements(_connector(mariadb), rec, mysql.connector.Error))
    assert_same(result)
    subs = result["fluoro"][0]["subsegments"]
    assert [s["name"] for s in subs] == [mariadb["host"]] * 4
    assert subs[0]["sql"]["user"] == mariadb["user"]
    assert subs[0]["sql"]["database_type"] == "mysql"
    # MariaDB announces itself as "5.5.5-10.x" to MySQL clients; connector keeps the prefix.
    assert subs[0]["sql"]["database_version"] == "5.5.5"


def test_pymysql_connect_alias_and_with_block(recorder, mariadb) -> None:  # type: ignore[no-untyped-def]
    conn = pymysql.Connect(host=mariadb["host"], port=mariadb["port"], user=mariadb["user"],
                           password=mariadb["password"], database=mariadb["dbname"])
    with recorder.in_segment("app"):
        with conn.cursor() as cur:
            cur.execute("select 1")
            assert cur.fetchone() == (1,)
    assert recorder.captured.documents[0]["subsegments"][0]["sql"]["driver_version"] == "PyMySQL"

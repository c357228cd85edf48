"""SQLAlchemy Core, the ORM helpers and Flask-SQLAlchemy against real PostgreSQL and SQLite.

Core is compared with upstream on the same calls. Upstream's ORM helpers do not run on
SQLAlchemy 2 (their ``sessionmaker`` call uses the removed ``autocommit`` argument) nor
its Flask-SQLAlchemy helper on Flask-SQLAlchemy 3, so those are checked field by field.
"""

from __future__ import annotations

import flask
import pytest
import sqlalchemy
from sqlalchemy import Column, Integer, String, select, text
from sqlalchemy.orm import Session, declarative_base

from fluoro.core import patch
from fluoro.ext import sqlalchemy_core
from fluoro.ext.flask_sqlalchemy.query import XRayFlaskSqlAlchemy
from fluoro.ext.sqlalchemy.query import XRayQuery, XRaySession, XRaySessionMaker

from ..oracle import assert_same, run_both, upstream_patched

Base = declarative_base()


class Item(Base):  # type: ignore[misc,valid-type]
    __tablename__ = "orm_items"
    id = Column(Integer, primary_key=True)
    name = Column(String(50))


def _pg_url(db) -> str:  # type: ignore[no-untyped-def]
    from urllib.parse import quote_plus

    return "postgresql+psycopg2://%s:%s@%s:%s/%s" % (db["user"], quote_plus(db["password"]), db["host"],
                                                      db["port"], db["dbname"])


def _walk(entity: dict):  # type: ignore[no-untyped-def]
    for sub in entity.get("subsegments", []):
        yield sub
        yield from _walk(sub)


@pytest.fixture
def core_patched():  # type: ignore[no-untyped-def]
    patch(("sqlalchemy_core",))
    yield
    sqlalchemy_core.unpatch()


def _core_scenario(engine):  # type: ignore[no-untyped-def]
    def scenario(rec) -> None:  # type: ignore[no-untyped-def]
        with rec.in_segment("app"):
            with engine.connect() as conn:
                conn.execute(text("select 1"))
                conn.execute(select(sqlalchemy.literal(5).label("five")))
                try:
                    conn.execute(text("select * from no_such_table"))
                except sqlalchemy.exc.DBAPIError:
                    pass
            with Session(engine) as session:
                session.execute(text("select 2"))
    return scenario


@pytest.mark.parametrize("database", ["postgresql", "sqlite"])
def test_core_matches_upstream(recorders, core_patched, postgres, tmp_path, database) -> None:  # type: ignore[no-untyped-def]
    url = _pg_url(postgres) if database == "postgresql" else "sqlite:///%s" % (tmp_path / "db.sqlite")
    engine = sqlalchemy.create_engine(url)
    targets = [("sqlalchemy.engine.base", "Connection.execute"), ("sqlalchemy.orm.session", "Session.execute")]
    with upstream_patched("sqlalchemy_core", targets):
        result = run_both(recorders, _core_scenario(engine))
    if database == "sqlite":
        # Upstream names a file database's subsegment null (X-Ray rejects it) and drops two
        # slashes of its path from the URL; fluoro names it by the path and keeps the URL.
        path = str(tmp_path / "db.sqlite")
        for sub in _walk(result["upstream"][0]):
            assert sub["name"] is None and sub["sql"]["url"] == "sqlite:/" + path
            sub["name"], sub["sql"]["url"] = path, url
    assert_same(result)
    subs = result["fluoro"][0]["subsegments"]
    assert len(subs) == 4
    first = subs[0]
    if database == "postgresql":
        assert first["name"] == "%s:%s" % (postgres["host"], postgres["port"])
        assert first["sql"]["url"] == "postgresql+psycopg2://%s@%s:%s/%s" % (
            postgres["user"], postgres["host"], postgres["port"], postgres["dbname"])
        assert first["sql"]["user"] == postgres["user"]
        assert first["sql"]["database_type"] == "postgresql"
        assert first["sql"]["driver_version"].startswith("psycopg2-2.")
        assert first["sql"]["database_version"].split(".")[0].isdigit()
        assert postgres["password"] not in str(result["fluoro"])
    else:
        assert first["name"] == str(tmp_path / "db.sqlite")
        assert first["sql"]["url"] == url and first["sql"]["database_type"] == "sqlite"
    assert first["sql"]["sanitized_query"] == "select 1"
    assert subs[1]["sql"]["sanitized_query"].lower().startswith("select")
    assert subs[2]["fault"] is True
    assert subs[3]["sql"]["sanitized_query"] == "select 2"


def test_core_stream_sql_off(recorder, core_patched, tmp_path) -> None:  # type: ignore[no-untyped-def]
    recorder.configure(stream_sql=False)
    engine = sqlalchemy.create_engine("sqlite:///%s" % (tmp_path / "db.sqlite"))
    with recorder.in_segment("app"):
        with engine.connect() as conn:
            conn.execute(text("select 'secret'"))
    sql = recorder.captured.documents[0]["subsegments"][0]["sql"]
    assert "sanitized_query" not in sql and sql["database_type"] == "sqlite"


def test_core_user_with_special_characters_is_quoted(recorder, core_patched, postgres) -> None:  # type: ignore[no-untyped-def]
    engine = sqlalchemy.create_engine(_pg_url(postgres))
    # Same server, user name that needs quoting in a URL (only the URL is checked).
    odd = engine.url.set(username="a@b c")
    from fluoro.ext.sqlalchemy_core.patch import safe_url

    name, url, user = safe_url(odd)
    assert user == "a%40b+c" and url.startswith("postgresql+psycopg2://a%40b+c@") and "s3cr3t" not in url
    assert name == "%s:%s" % (postgres["host"], postgres["port"])


def _orm_scenario(engine, rec) -> None:  # type: ignore[no-untyped-def]
    Base.metadata.create_all(engine)
    maker = XRaySessionMaker(bind=engine)
    with rec.in_segment("app"):
        session = maker()
        assert isinstance(session, XRaySession)
        session.add(Item(name="a"))
        session.commit()
        query = session.query(Item).filter_by(name="a")
        assert isinstance(query, XRayQuery)
        assert [i.name for i in query.all()] == ["a"]
        assert query.count() >= 1
        session.close()


def test_orm_helpers_record_database_calls(recorder, postgres) -> None:  # type: ignore[no-untyped-def]
    engine = sqlalchemy.create_engine(_pg_url(postgres))
    _orm_scenario(engine, recorder)
    subs = recorder.captured.documents[0]["subsegments"]
    names = {s["name"] for s in subs}
    assert names == {"postgresql+psycopg2://%s@%s:%s/%s" % (postgres["user"], postgres["host"], postgres["port"],
                                                            postgres["dbname"])}
    calls = [s["annotations"]["sqlalchemy"] for s in subs]
    assert calls == ["sqlalchemy.orm.session.commit", "sqlalchemy.orm.query.all", "sqlalchemy.orm.query.count"]
    assert all(s["namespace"] == "remote" for s in subs)
    assert all("subsegments" not in s for s in subs), "nested ORM calls are recorded once"
    all_call = subs[1]
    assert all_call["sql"]["database_type"] == "postgresql+psycopg2"
    assert all_call["sql"]["user"] == postgres["user"]
    assert "orm_items" in all_call["sql"]["sanitized_query"]
    assert postgres["password"] not in str(subs)


def test_orm_outside_a_segment_is_silent(recorder, tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    engine = sqlalchemy.create_engine("sqlite:///%s" % (tmp_path / "db.sqlite"))
    Base.metadata.create_all(engine)
    session = XRaySessionMaker(bind=engine)()
    session.add(Item(name="x"))
    session.commit()
    assert session.query(Item).count() == 1
    assert recorder.captured.documents == []
    assert "cannot find the current segment" not in caplog.text


def test_plain_sessions_are_untouched(recorder, tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = sqlalchemy.create_engine("sqlite:///%s" % (tmp_path / "db.sqlite"))
    Base.metadata.create_all(engine)
    with recorder.in_segment("app"):
        with Session(engine) as session:
            session.query(Item).all()
    assert "subsegments" not in recorder.captured.documents[0]


def test_flask_sqlalchemy(recorder, postgres) -> None:  # type: ignore[no-untyped-def]
    app = flask.Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = _pg_url(postgres)
    db = XRayFlaskSqlAlchemy(app)

    class Note(db.Model):  # type: ignore[name-defined,misc]
        __tablename__ = "flask_notes"
        id = db.Column(db.Integer, primary_key=True)
        body = db.Column(db.String(50))

    with app.app_context():
        db.create_all()
        with recorder.in_segment("app"):
            db.session.add(Note(body="hi"))
            db.session.commit()
            assert Note.query.filter_by(body="hi").first().body == "hi"
            page = Note.query.paginate(page=1, per_page=5)
            assert page.total >= 1
        db.session.remove()  # ends the session's transaction, or drop_all waits on its lock
        db.drop_all()
    subs = recorder.captured.documents[0]["subsegments"]
    calls = [s["annotations"]["sqlalchemy"] for s in subs]
    assert calls[:2] == ["sqlalchemy.orm.session.commit", "sqlalchemy.orm.query.first"]
    assert "sqlalchemy.orm.query.count" in calls or "sqlalchemy.orm.session.execute" in calls
    assert all(s["sql"]["url"].startswith("postgresql+psycopg2://%s@" % postgres["user"]) for s in subs)

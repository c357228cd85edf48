"""SQLAlchemy ORM helpers: ``XRaySessionMaker(bind=engine)``, ``XRaySession``, ``XRayQuery``.

Database calls on these sessions and queries made under a segment are ``remote``
subsegments named by the database URL (password removed), with ``sql`` fields, the
query text as ``sanitized_query`` when ``stream_sql`` is on, and an ``sqlalchemy``
annotation naming the method (``sqlalchemy.orm.query.all``). Unlike upstream, only the
subclasses are changed (upstream rewrites SQLAlchemy's own ``Session`` and ``Query``).
"""

from __future__ import annotations

from sqlalchemy.orm.query import Query
from sqlalchemy.orm.session import Session, sessionmaker

from ...core import xray_recorder
from .util.decorators import QUERY_CALLS, SESSION_CALLS, decorate_calls, parse_bind


def session_sql(session) -> dict | None:  # type: ignore[no-untyped-def]
    bind = session.bind
    if bind is None:
        bind = session.get_bind()
    return parse_bind(bind)


def query_sql(query) -> dict | None:  # type: ignore[no-untyped-def]
    sql = session_sql(query.session)
    if sql is not None and xray_recorder.stream_sql:
        sql["sanitized_query"] = str(query)
    return sql


@decorate_calls(Session, SESSION_CALLS, "sqlalchemy.orm.session", session_sql)
class XRaySession(Session):
    """A Session whose database calls are recorded."""


@decorate_calls(Query, QUERY_CALLS, "sqlalchemy.orm.query", query_sql)
class XRayQuery(Query):
    """A Query whose database calls are recorded."""


class XRaySessionMaker(sessionmaker):
    """``sessionmaker`` for :class:`XRaySession` and :class:`XRayQuery`."""

    def __init__(self, bind=None, class_=XRaySession, autoflush=True, expire_on_commit=True,  # type: ignore[no-untyped-def]
                 info=None, **kw):
        kw.setdefault("query_cls", XRayQuery)
        super().__init__(bind=bind, class_=class_, autoflush=autoflush, expire_on_commit=expire_on_commit,
                         info=info, **kw)

"""What the SQLAlchemy ORM helpers record: ``parse_bind`` and the wrapper of each database call."""

from __future__ import annotations

import contextvars
import functools

from ....core import xray_recorder
from ...util import has_trace_entity, strip_url

#: True while an ORM call is being recorded in this context.
active_call: contextvars.ContextVar = contextvars.ContextVar("fluoro_sqlalchemy_orm_call", default=False)

#: Session and Query methods that talk to the database (upstream also records methods
#: that do no I/O, such as ``Session.add`` and ``Query.filter``).
SESSION_CALLS = ("execute", "scalar", "scalars", "get", "get_one", "merge", "flush", "commit", "rollback",
                 "refresh")
QUERY_CALLS = ("all", "first", "one", "one_or_none", "scalar", "count", "get", "delete", "update")


def parse_bind(bind) -> dict:  # type: ignore[no-untyped-def]
    """``sql`` fields for an Engine or Connection: URL without password, scheme as type, user."""
    engine = getattr(bind, "engine", bind)
    url = engine.url
    safe = url._replace(password=None).render_as_string(hide_password=False)
    sql = {"database_type": url.drivername, "url": safe}
    if url.username is not None:
        sql["user"] = url.username
    return sql


def xray_on_call(owner_module: str, func, sql_of):  # type: ignore[no-untyped-def]
    """Wrap ``func`` so a call made under a segment is a ``remote`` subsegment named by the URL.

    Calls nested in one already recorded (``Query.all`` runs ``Session.execute``) are not
    recorded again.
    """

    @functools.wraps(func)
    def wrapper(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if active_call.get():
            return func(self, *args, **kwargs)
        try:
            sql = sql_of(self)
        except Exception:
            sql = None
        subsegment = None
        if sql is not None:
            if has_trace_entity():
                subsegment = xray_recorder.begin_subsegment(strip_url(sql["url"]), "remote")
        if subsegment is None:
            return func(self, *args, **kwargs)
        token = active_call.set(True)
        try:
            return func(self, *args, **kwargs)
        finally:
            active_call.reset(token)
            subsegment.set_sql(sql)
            subsegment.put_annotation("sqlalchemy", "%s.%s" % (owner_module, func.__name__))
            xray_recorder.end_subsegment()

    return wrapper


def decorate_calls(base, names, owner_module: str, sql_of):  # type: ignore[no-untyped-def]
    """Class decorator: override ``names`` of ``base`` with recording wrappers."""

    def decorator(cls):  # type: ignore[no-untyped-def]
        for name in names:
            func = getattr(base, name, None)
            if callable(func) and not isinstance(vars(cls).get(name), property):
                setattr(cls, name, xray_on_call(owner_module, func, sql_of))
        return cls

    return decorator

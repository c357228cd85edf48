"""SQLAlchemy Core: every ``Connection.execute`` / ``Session.execute`` is a ``remote`` subsegment.

Named by the database URL's ``host:port``, with ``sql`` fields from the engine: URL
(password removed, user name URL-quoted), user, dialect name, driver and server
versions, and the compiled statement as ``sanitized_query`` when ``stream_sql`` is on.
"""

from __future__ import annotations

import logging
from urllib.parse import quote_plus, urlsplit

from ...core import xray_recorder
from ...core.utils import stacktrace
from ..util import unwrap

log = logging.getLogger(__name__)


def patch() -> None:
    import sqlalchemy.engine.base
    import sqlalchemy.orm.session
    import wrapt

    if getattr(sqlalchemy.engine.base, "_fluoro_xray_enabled", False):
        return
    sqlalchemy.engine.base._fluoro_xray_enabled = True  # type: ignore[attr-defined]
    wrapt.wrap_function_wrapper("sqlalchemy.engine.base", "Connection.execute", _xray_traced_sqlalchemy_execute)
    wrapt.wrap_function_wrapper("sqlalchemy.orm.session", "Session.execute", _xray_traced_sqlalchemy_session)


def unpatch() -> None:
    import sqlalchemy.engine.base
    import sqlalchemy.orm.session

    from ...core.patcher import _PATCHED_MODULES

    _PATCHED_MODULES.discard("sqlalchemy_core")
    unwrap(sqlalchemy.engine.base.Connection, "execute")
    unwrap(sqlalchemy.orm.session.Session, "execute")
    sqlalchemy.engine.base._fluoro_xray_enabled = False  # type: ignore[attr-defined]


def safe_url(url) -> tuple:  # type: ignore[no-untyped-def]
    """``(subsegment name, URL string without password, quoted user or None)``.

    The name is the URL's ``host:port`` without credentials.
    """
    username = url.username
    rendered = url._replace(username=None, password=None).render_as_string(hide_password=False)
    quoted_user = quote_plus(username) if username else None
    if quoted_user:
        rendered = rendered.replace("://", "://%s@" % quoted_user, 1)
    netloc = urlsplit(rendered).netloc.rpartition("@")[2]
    # A file database has no host: named by its path, as the sqlite3 patcher does
    # (upstream emits a null name, which X-Ray rejects).
    name = netloc or url.database or url.get_backend_name()
    return name, rendered, quoted_user


def sql_meta(bind, statement) -> tuple:  # type: ignore[no-untyped-def]
    """``(subsegment name, sql dict)``, or ``(None, None)`` if the bind cannot be read."""
    try:
        engine = bind.engine
        name, url, user = safe_url(engine.url)
        meta: dict = {"url": url, "user": user, "database_type": engine.name}
        driver = engine.driver
        version = getattr(engine.dialect, "%s_version" % driver, None)
        if isinstance(version, tuple):
            meta["driver_version"] = "%s-%s" % (driver, ".".join(str(v) for v in version))
        else:
            meta["driver_version"] = driver
        server = engine.dialect.server_version_info
        if server is not None:
            meta["database_version"] = ".".join(str(v) for v in server)
        if xray_recorder.stream_sql and statement is not None:
            meta["sanitized_query"] = _statement_text(statement, engine)
        return name, meta
    except Exception:
        log.debug("could not read SQL metadata", exc_info=True)
        return None, None


def _statement_text(statement, engine) -> str:  # type: ignore[no-untyped-def]
    from sqlalchemy.sql.expression import ClauseElement

    try:
        if isinstance(statement, ClauseElement):
            return str(statement.compile(engine))
        return str(statement)
    except Exception:
        return str(type(statement).__name__)


def _statement(args, kwargs):  # type: ignore[no-untyped-def]
    return args[0] if args else kwargs.get("statement")


def _xray_traced_sqlalchemy_execute(wrapped, instance, args, kwargs):  # type: ignore[no-untyped-def]
    return _process_request(wrapped, instance, args, kwargs)


def _xray_traced_sqlalchemy_session(wrapped, instance, args, kwargs):  # type: ignore[no-untyped-def]
    bind = instance.bind
    if bind is None:
        try:
            bind = instance.get_bind()
        except Exception:
            bind = None
    return _process_request(wrapped, bind, args, kwargs)


def _process_request(wrapped, bind, args, kwargs):  # type: ignore[no-untyped-def]
    if bind is None:
        return wrapped(*args, **kwargs)
    name, sql = sql_meta(bind, _statement(args, kwargs))
    subsegment = xray_recorder.begin_subsegment(name, "remote") if sql is not None else None
    if subsegment is None:
        return wrapped(*args, **kwargs)
    try:
        return wrapped(*args, **kwargs)
    except Exception as exception:
        subsegment.add_exception(exception, stacktrace.get_stacktrace(limit=xray_recorder.max_trace_back))
        raise
    finally:
        subsegment.set_sql(sql)
        xray_recorder.end_subsegment()

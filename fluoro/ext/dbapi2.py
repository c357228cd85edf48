"""DB-API 2.0 connections and cursors that record each statement as a ``remote`` subsegment.

Shared by the sqlite3, mysql, pymysql, psycopg2, psycopg and pg8000 patchers: each wraps
its driver's ``connect`` and hands the connection to :class:`XRayTracedConn` with the
``sql`` fields it knows (``name`` renames the subsegment; the rest becomes ``sql``).
As upstream, the statement text is not recorded for raw DB-API drivers.
"""

from __future__ import annotations

import wrapt

from ..core import xray_recorder
from ..core.utils import stacktrace


class XRayTracedConn(wrapt.ObjectProxy):
    """A connection whose cursors are traced."""

    def __init__(self, conn, meta=None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(conn)
        self._self_xray_meta = dict(meta or {})

    @property
    def _xray_meta(self) -> dict:
        return self._self_xray_meta

    def cursor(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return XRayTracedCursor(self.__wrapped__.cursor(*args, **kwargs), self._self_xray_meta)

    def __enter__(self):  # type: ignore[no-untyped-def]
        # ``with driver.connect() as conn:`` must hand out the traced connection
        # (upstream returns the driver's own, whose cursors go untraced).
        value = self.__wrapped__.__enter__()
        return self if value is self.__wrapped__ else value

    def __exit__(self, *exc):  # type: ignore[no-untyped-def]
        return self.__wrapped__.__exit__(*exc)


class XRayTracedConnWithExecute(XRayTracedConn):
    """For drivers whose connection has an ``execute`` shortcut (sqlite3, psycopg 3)."""

    def execute(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return self.cursor().execute(*args, **kwargs)

    def executemany(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return self.cursor().executemany(*args, **kwargs)


def traced_connection(conn, meta: dict):  # type: ignore[no-untyped-def]
    """The right proxy for ``conn``."""
    cls = XRayTracedConnWithExecute if hasattr(conn, "execute") else XRayTracedConn
    return cls(conn, meta)


class XRayTracedCursor(wrapt.ObjectProxy):
    """A cursor whose ``execute``/``executemany``/``callproc`` are subsegments."""

    def __init__(self, cursor, meta=None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(cursor)
        meta = dict(meta or {})
        if not meta.get("database_type"):
            meta["database_type"] = cursor.__class__.__module__.split(".")[0]
        self._self_name = meta.pop("name", None)
        self._self_sql = meta

    @property
    def _xray_meta(self) -> dict:
        meta = dict(self._self_sql)
        if self._self_name:
            meta["name"] = self._self_name
        return meta

    def __enter__(self):  # type: ignore[no-untyped-def]
        value = self.__wrapped__.__enter__()
        return self if value is self.__wrapped__ else value

    def __exit__(self, *exc):  # type: ignore[no-untyped-def]
        return self.__wrapped__.__exit__(*exc)

    def execute(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return self._record("execute", self.__wrapped__.execute, args, kwargs)

    def executemany(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return self._record("executemany", self.__wrapped__.executemany, args, kwargs)

    def callproc(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return self._record("callproc", self.__wrapped__.callproc, args, kwargs)

    def _record(self, method: str, call, args, kwargs):  # type: ignore[no-untyped-def]
        subsegment = xray_recorder.begin_subsegment(self._self_name or method, "remote")
        if subsegment is None:
            return self._same_cursor(call(*args, **kwargs))
        try:
            return self._same_cursor(call(*args, **kwargs))
        except Exception as exception:
            subsegment.add_exception(exception, stacktrace.get_stacktrace(limit=xray_recorder.max_trace_back))
            raise
        finally:
            subsegment.set_sql(dict(self._self_sql))
            xray_recorder.end_subsegment()

    def _same_cursor(self, result):  # type: ignore[no-untyped-def]
        # Drivers that return the cursor itself (sqlite3, psycopg 3) keep the traced one chained.
        return self if result is self.__wrapped__ else result


def version_string(raw) -> object:  # type: ignore[no-untyped-def]
    """``(10, 11, 6)`` -> ``'10.11.6'``; anything else as it is."""
    if isinstance(raw, tuple) and raw:
        return ".".join(str(part) for part in raw)
    return raw


def as_text(value) -> object:  # type: ignore[no-untyped-def]
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value

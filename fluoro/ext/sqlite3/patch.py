"""sqlite3: statements are subsegments named by the database path (``':memory:'``...)."""

from __future__ import annotations

from ..dbapi2 import XRayTracedConnWithExecute


class XRayTracedSQLite(XRayTracedConnWithExecute):
    """A sqlite3 connection whose ``execute`` shortcuts go through a traced cursor."""


def patch() -> None:
    import sqlite3

    import wrapt

    if getattr(sqlite3, "_fluoro_xray_enabled", False):
        return
    sqlite3._fluoro_xray_enabled = True  # type: ignore[attr-defined]
    wrapt.wrap_function_wrapper("sqlite3", "connect", _xray_traced_connect)


def unpatch() -> None:
    import sqlite3

    from ...core.patcher import _PATCHED_MODULES
    from ..util import unwrap

    _PATCHED_MODULES.discard("sqlite3")
    unwrap(sqlite3, "connect")
    sqlite3._fluoro_xray_enabled = False  # type: ignore[attr-defined]


def _xray_traced_connect(wrapped, instance, args, kwargs):  # type: ignore[no-untyped-def]
    import sqlite3

    conn = wrapped(*args, **kwargs)
    database = args[0] if args else kwargs.get("database")
    meta = {"name": str(database) if database is not None else "sqlite3",
            "database_version": sqlite3.sqlite_version}
    return XRayTracedSQLite(conn, meta)

"""PyMySQL: statements are ``execute`` subsegments (``database_type`` MySQL)."""

from __future__ import annotations

from ..dbapi2 import XRayTracedConn, as_text, traced_connection, version_string


def patch() -> None:
    import pymysql
    import wrapt

    if getattr(pymysql, "_fluoro_xray_enabled", False):
        return
    pymysql._fluoro_xray_enabled = True  # type: ignore[attr-defined]
    wrapt.wrap_function_wrapper("pymysql", "connect", _xray_traced_connect)
    if hasattr(pymysql, "Connect"):
        pymysql.Connect = pymysql.connect


def unpatch() -> None:
    import pymysql

    from ...core.patcher import _PATCHED_MODULES
    from ..util import unwrap

    _PATCHED_MODULES.discard("pymysql")
    unwrap(pymysql, "connect")
    if hasattr(pymysql, "Connect"):
        pymysql.Connect = pymysql.connect
    pymysql._fluoro_xray_enabled = False  # type: ignore[attr-defined]


def _xray_traced_connect(wrapped, instance, args, kwargs):  # type: ignore[no-untyped-def]
    conn = wrapped(*args, **kwargs)
    if isinstance(conn, XRayTracedConn):
        return conn
    meta = {"database_type": "MySQL", "user": as_text(conn.user), "driver_version": "PyMySQL"}
    version = version_string(getattr(conn, "server_version", None))
    if version:
        meta["database_version"] = version
    return traced_connection(conn, meta)

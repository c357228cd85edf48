"""mysql-connector: statements are subsegments named by the server host."""

from __future__ import annotations

from ..dbapi2 import XRayTracedConn, traced_connection, version_string


def patch() -> None:
    import mysql.connector
    import wrapt

    if getattr(mysql.connector, "_fluoro_xray_enabled", False):
        return
    mysql.connector._fluoro_xray_enabled = True  # type: ignore[attr-defined]
    wrapt.wrap_function_wrapper("mysql.connector", "connect", _xray_traced_connect)
    if hasattr(mysql.connector, "Connect"):
        mysql.connector.Connect = mysql.connector.connect


def unpatch() -> None:
    import mysql.connector

    from ...core.patcher import _PATCHED_MODULES
    from ..util import unwrap

    _PATCHED_MODULES.discard("mysql")
    unwrap(mysql.connector, "connect")
    if hasattr(mysql.connector, "Connect"):
        mysql.connector.Connect = mysql.connector.connect
    mysql.connector._fluoro_xray_enabled = False  # type: ignore[attr-defined]


def _xray_traced_connect(wrapped, instance, args, kwargs):  # type: ignore[no-untyped-def]
    conn = wrapped(*args, **kwargs)
    if isinstance(conn, XRayTracedConn):
        return conn
    meta: dict = {}
    host = getattr(conn, "_host", None) or getattr(conn, "server_host", None)
    if host:
        meta["name"] = host
    user = getattr(conn, "_user", None) or getattr(conn, "user", None)
    if user:
        meta["user"] = user
    version = version_string(getattr(conn, "_server_version", None))
    if version:
        meta["database_version"] = version
    return traced_connection(conn, meta)

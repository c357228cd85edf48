"""psycopg2: statements are ``execute`` subsegments with the server's ``sql`` fields.

Also unwraps the traced connection/cursor before handing it to psycopg2's C functions
that type-check their argument (``register_type``, ``quote_ident``, ``register_default_jsonb``).
"""

from __future__ import annotations

from ..dbapi2 import XRayTracedConn, XRayTracedCursor, traced_connection


def patch() -> None:
    import psycopg2
    import wrapt

    if getattr(psycopg2, "_fluoro_xray_enabled", False):
        return
    psycopg2._fluoro_xray_enabled = True  # type: ignore[attr-defined]
    wrapt.wrap_function_wrapper("psycopg2", "connect", _xray_traced_connect)
    wrapt.wrap_function_wrapper("psycopg2.extensions", "register_type", _unwrap_second_argument)
    wrapt.wrap_function_wrapper("psycopg2.extensions", "quote_ident", _unwrap_second_argument)
    wrapt.wrap_function_wrapper("psycopg2.extras", "register_default_jsonb", _unwrap_conn_or_curs)


def unpatch() -> None:
    import psycopg2
    import psycopg2.extensions
    import psycopg2.extras

    from ...core.patcher import _PATCHED_MODULES
    from ..util import unwrap

    _PATCHED_MODULES.discard("psycopg2")
    unwrap(psycopg2, "connect")
    unwrap(psycopg2.extensions, "register_type")
    unwrap(psycopg2.extensions, "quote_ident")
    unwrap(psycopg2.extras, "register_default_jsonb")
    psycopg2._fluoro_xray_enabled = False  # type: ignore[attr-defined]


def postgres_meta(info, server_version, driver_version: str) -> dict:  # type: ignore[no-untyped-def]
    """The ``sql`` fields from a libpq ``ConnectionInfo`` (psycopg2 and psycopg 3); never the password."""
    user = getattr(info, "user", None) or "unknown"
    host = getattr(info, "host", None) or "unknown"
    port = getattr(info, "port", None) or "unknown"
    dbname = getattr(info, "dbname", None) or "unknown"
    return {
        "database_type": "PostgreSQL",
        "url": "postgresql://{}@{}:{}/{}".format(user, host, port, dbname),
        "user": user,
        "database_version": str(server_version),
        "driver_version": driver_version,
    }


def _xray_traced_connect(wrapped, instance, args, kwargs):  # type: ignore[no-untyped-def]
    conn = wrapped(*args, **kwargs)
    if isinstance(conn, XRayTracedConn):
        return conn
    return traced_connection(conn, postgres_meta(conn.info, conn.server_version, "Psycopg 2"))


def _unwrap_second_argument(wrapped, instance, args, kwargs):  # type: ignore[no-untyped-def]
    if len(args) == 2 and isinstance(args[1], (XRayTracedConn, XRayTracedCursor)):
        args = (args[0], args[1].__wrapped__)
    return wrapped(*args, **kwargs)


def _unwrap_conn_or_curs(wrapped, instance, args, kwargs):  # type: ignore[no-untyped-def]
    if args and isinstance(args[0], (XRayTracedConn, XRayTracedCursor)):
        args = (args[0].__wrapped__,) + tuple(args[1:])
    value = kwargs.get("conn_or_curs")
    if isinstance(value, (XRayTracedConn, XRayTracedCursor)):
        kwargs = dict(kwargs, conn_or_curs=value.__wrapped__)
    return wrapped(*args, **kwargs)

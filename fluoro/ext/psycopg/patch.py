"""psycopg 3: statements are ``execute`` subsegments; pooled connections are traced too."""

from __future__ import annotations

from ..dbapi2 import XRayTracedConn, traced_connection
from ..psycopg2.patch import postgres_meta


def patch() -> None:
    import psycopg
    import wrapt

    if getattr(psycopg, "_fluoro_xray_enabled", False):
        return
    psycopg._fluoro_xray_enabled = True  # type: ignore[attr-defined]
    wrapt.wrap_function_wrapper("psycopg", "connect", _xray_traced_connect)
    try:
        import psycopg_pool.pool  # noqa: F401
    except ImportError:
        return
    wrapt.wrap_function_wrapper("psycopg_pool.pool", "ConnectionPool._connect", _xray_traced_connect)


def unpatch() -> None:
    import psycopg

    from ...core.patcher import _PATCHED_MODULES
    from ..util import unwrap

    _PATCHED_MODULES.discard("psycopg")
    unwrap(psycopg, "connect")
    try:
        import psycopg_pool.pool
    except ImportError:
        pass
    else:
        unwrap(psycopg_pool.pool.ConnectionPool, "_connect")
    psycopg._fluoro_xray_enabled = False  # type: ignore[attr-defined]


def _xray_traced_connect(wrapped, instance, args, kwargs):  # type: ignore[no-untyped-def]
    conn = wrapped(*args, **kwargs)
    if isinstance(conn, XRayTracedConn):
        return conn
    return traced_connection(conn, postgres_meta(conn.info, conn.info.server_version, "Psycopg 3"))

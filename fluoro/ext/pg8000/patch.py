"""pg8000: statements are ``execute`` subsegments (``database_type`` PostgreSQL)."""

from __future__ import annotations

from ..dbapi2 import XRayTracedConn, as_text, traced_connection


def patch() -> None:
    import pg8000
    import wrapt

    if getattr(pg8000, "_fluoro_xray_enabled", False):
        return
    pg8000._fluoro_xray_enabled = True  # type: ignore[attr-defined]
    wrapt.wrap_function_wrapper("pg8000", "connect", _xray_traced_connect)


def unpatch() -> None:
    import pg8000

    from ...core.patcher import _PATCHED_MODULES
    from ..util import unwrap

    _PATCHED_MODULES.discard("pg8000")
    unwrap(pg8000, "connect")
    pg8000._fluoro_xray_enabled = False  # type: ignore[attr-defined]


def _xray_traced_connect(wrapped, instance, args, kwargs):  # type: ignore[no-untyped-def]
    conn = wrapped(*args, **kwargs)
    if isinstance(conn, XRayTracedConn):
        return conn
    user = args[0] if args else kwargs.get("user")
    meta = {"database_type": "PostgreSQL", "user": as_text(getattr(conn, "user", None) or user),
            "driver_version": "Pg8000"}
    version = getattr(conn, "_server_version", None) or (getattr(conn, "parameter_statuses", None) or {}).get(
        "server_version")
    if version:
        meta["database_version"] = str(as_text(version))
    return traced_connection(conn, meta)

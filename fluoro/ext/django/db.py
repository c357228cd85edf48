"""Django's database layer: every query through a connection's cursor is a ``remote``
subsegment with the ``sql`` block (``database_type`` = the backend's vendor, ``user``,
``sanitized_query`` = the SQL text with placeholders, when ``stream_sql``).

Named after the database ``HOST`` setting, else the cursor method (``execute``,
``executemany``, ``callproc``), as upstream. Queries made outside a request (migrations,
management commands) are not traced and log nothing.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

import wrapt

from ...core import xray_recorder
from .._http_entry import has_trace_entity

log = logging.getLogger(__name__)

_ORIGINAL_ATTR = "_fluoro_original_%s"


def patch_db() -> None:
    """Patch the class of every configured connection (idempotent)."""
    from django.db import connections

    for conn in connections.all():
        module = importlib.import_module(type(conn).__module__)
        _patch_conn(getattr(module, type(conn).__name__))


def unpatch_db() -> None:
    from django.db import connections

    for conn in connections.all():
        cls = type(conn)
        for name in ("cursor", "chunked_cursor"):
            original = cls.__dict__.get(_ORIGINAL_ATTR % name)
            if original is not None:
                setattr(cls, name, original)
                delattr(cls, _ORIGINAL_ATTR % name)


def _patch_conn(cls: type) -> None:
    _patch_cursor("cursor", cls)
    _patch_cursor("chunked_cursor", cls)


def _patch_cursor(cursor_name: str, cls: type) -> None:
    attr = _ORIGINAL_ATTR % cursor_name
    if attr in cls.__dict__:
        log.debug("django database %s already patched", cursor_name)
        return
    original = getattr(cls, cursor_name, None)
    if original is None:
        return
    setattr(cls, attr, original)

    def cursor(self: Any, *args: Any, **kwargs: Any) -> Any:
        # Read per connection, not shared between connections of one class (upstream shared them).
        return DjangoXRayTracedCursor(original(self, *args, **kwargs), _connection_meta(self))

    cursor.__name__ = cursor_name
    setattr(cls, cursor_name, cursor)


def _connection_meta(conn: Any) -> dict:
    meta: dict = {}
    vendor = getattr(conn, "vendor", None)
    if vendor:
        meta["database_type"] = vendor
    settings = getattr(conn, "settings_dict", None) or {}
    if settings.get("HOST"):
        meta["name"] = settings["HOST"]
    if settings.get("USER"):
        meta["user"] = settings["USER"]
    return meta


class DjangoXRayTracedCursor(wrapt.ObjectProxy):  # type: ignore[misc]
    """Django's ``CursorWrapper`` with ``execute``/``executemany``/``callproc`` traced."""

    def __init__(self, cursor: Any, meta: dict) -> None:
        super().__init__(cursor)
        if not meta.get("database_type"):
            meta["database_type"] = type(cursor).__module__.split(".")[0]
        self._self_xray_meta = meta

    def __enter__(self) -> Any:
        value = self.__wrapped__.__enter__()
        return self if value is self.__wrapped__ else value

    def __exit__(self, *exc: Any) -> Any:
        return self.__wrapped__.__exit__(*exc)

    def __iter__(self) -> Any:
        return iter(self.__wrapped__)

    def execute(self, sql: Any, *args: Any, **kwargs: Any) -> Any:
        return self._self_traced("execute", sql, self.__wrapped__.execute, (sql, *args), kwargs)

    def executemany(self, sql: Any, *args: Any, **kwargs: Any) -> Any:
        return self._self_traced("executemany", sql, self.__wrapped__.executemany, (sql, *args), kwargs)

    def callproc(self, procname: Any, *args: Any, **kwargs: Any) -> Any:
        return self._self_traced("callproc", procname, self.__wrapped__.callproc, (procname, *args), kwargs)

    def _self_traced(self, method: str, sql: Any, call: Any, args: tuple, kwargs: dict) -> Any:
        recorder = xray_recorder
        if not has_trace_entity(recorder):
            return call(*args, **kwargs)
        meta = self._self_xray_meta
        subsegment = recorder.begin_subsegment(meta.get("name") or method, "remote")
        if subsegment is None:
            return call(*args, **kwargs)
        try:
            sql_meta = {k: v for k, v in meta.items() if k != "name"}
            if recorder.stream_sql:
                sql_meta["sanitized_query"] = sql if isinstance(sql, str) else str(sql)
            subsegment.set_sql(sql_meta)
        except Exception:
            log.debug("could not record the sql block", exc_info=True)
        try:
            return call(*args, **kwargs)
        except Exception as exc:
            from ...core.utils.stacktrace import get_stacktrace

            subsegment.add_exception(exc, get_stacktrace(limit=recorder.max_trace_back))
            raise
        finally:
            recorder.end_subsegment()

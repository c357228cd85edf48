"""pymongo: each command is a ``remote`` subsegment ``'<db>@<host>:<port>'``, from command monitoring.

``patch(record_full_documents=False)`` registers :class:`XrayCommandListener` for every
client created afterwards (or pass one to ``MongoClient(event_listeners=[...])``).
Commands and replies are only recorded (as metadata) with ``record_full_documents=True``:
they hold application data. Commands run with no segment are not recorded (upstream
raises inside pymongo's listener then).
"""

from __future__ import annotations

import threading

from ...core import xray_recorder
from ..util import has_trace_entity


def _listener_base():  # type: ignore[no-untyped-def]
    from pymongo import monitoring

    return monitoring.CommandListener



def _make_listener_class():  # type: ignore[no-untyped-def]
    class XrayCommandListener(_listener_base()):  # type: ignore[misc]
        """Records every MongoDB command as a subsegment."""

        def __init__(self, record_full_documents: bool = False) -> None:
            super().__init__()
            self.record_full_documents = record_full_documents

        @staticmethod
        def _subsegments() -> dict:
            # Shared by every listener instance: a command is recorded once even when
            # ``patch()`` and a client's ``event_listeners`` both register one.
            subs = getattr(_open, "subs", None)
            if subs is None:
                subs = _open.subs = {}
            return subs

        def started(self, event) -> None:  # type: ignore[no-untyped-def]
            host, port = event.connection_id
            address = "%s:%s" % (host, port)
            if event.request_id in self._subsegments() or not has_trace_entity():
                return
            try:
                subsegment = xray_recorder.begin_subsegment("%s@%s" % (event.database_name, address), "remote")
            except Exception:
                return
            if subsegment is None:
                return
            self._subsegments()[event.request_id] = subsegment
            subsegment.put_annotation("mongodb_command_name", event.command_name)
            subsegment.put_annotation("mongodb_connection_id", address)
            subsegment.put_annotation("mongodb_database_name", event.database_name)
            subsegment.put_annotation("mongodb_operation_id", event.operation_id)
            subsegment.put_annotation("mongodb_request_id", event.request_id)
            if self.record_full_documents:
                subsegment.put_metadata("mongodb_command", event.command)

        def _finish(self, event):  # type: ignore[no-untyped-def]
            subsegment = self._subsegments().pop(event.request_id, None)
            if subsegment is None:
                return None
            subsegment.put_annotation("mongodb_duration_micros", event.duration_micros)
            return subsegment

        def _end(self, subsegment) -> None:  # type: ignore[no-untyped-def]
            try:
                if xray_recorder.get_trace_entity() is subsegment:
                    xray_recorder.end_subsegment()
            except Exception:
                pass

        def succeeded(self, event) -> None:  # type: ignore[no-untyped-def]
            subsegment = self._finish(event)
            if subsegment is None:
                return
            if self.record_full_documents:
                subsegment.put_metadata("mongodb_reply", event.reply)
            self._end(subsegment)

        def failed(self, event) -> None:  # type: ignore[no-untyped-def]
            subsegment = self._finish(event)
            if subsegment is None:
                return
            subsegment.add_fault_flag()
            subsegment.put_metadata("failure", event.failure)
            self._end(subsegment)

    return XrayCommandListener


_listener_class = None
_open = threading.local()


def __getattr__(name: str):  # type: ignore[no-untyped-def]
    if name == "XrayCommandListener":
        global _listener_class
        if _listener_class is None:
            _listener_class = _make_listener_class()
        return _listener_class
    raise AttributeError(name)


def patch(record_full_documents: bool = False) -> None:
    from pymongo import monitoring

    if getattr(monitoring, "_fluoro_xray_enabled", False):
        return
    monitoring._fluoro_xray_enabled = True  # type: ignore[attr-defined]
    monitoring.register(__getattr__("XrayCommandListener")(record_full_documents))

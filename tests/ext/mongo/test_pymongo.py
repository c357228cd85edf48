"""pymongo command monitoring: a real pymongo client over a real socket to a wire-protocol responder.

See ``wire.py`` for why no MongoDB server runs here. upstream's listener is the oracle.
"""

from __future__ import annotations

import pymongo
import pytest
from aws_xray_sdk.ext.pymongo.patch import XrayCommandListener as UpstreamListener
from pymongo import monitoring

from fluoro.core import patch
from fluoro.ext.pymongo import XrayCommandListener

from ..oracle import assert_same, run_both
from .wire import WireResponder


@pytest.fixture
def server():  # type: ignore[no-untyped-def]
    responder = WireResponder()
    yield responder
    responder.close()


def _client(server, listener):  # type: ignore[no-untyped-def]
    return pymongo.MongoClient("127.0.0.1", server.port, event_listeners=[listener], directConnection=True,
                               serverSelectionTimeoutMS=5000)


def _scenario(server, listener_class, record_full_documents: bool):  # type: ignore[no-untyped-def]
    def scenario(rec) -> None:  # type: ignore[no-untyped-def]
        client = _client(server, listener_class(record_full_documents))
        client.admin.command("ping")  # connect before tracing
        with rec.in_segment("app"):
            client.shop.orders.insert_one({"item": "book", "qty": 1})
            assert client.shop.orders.find_one({"item": "book"})["qty"] == 1
            with pytest.raises(pymongo.errors.OperationFailure):
                client.shop.command("noSuchCommand")
        client.close()
    return scenario


def _stable(shapes: list) -> list:
    """Drop the values that differ per connection and per run (ids, durations, the object ids)."""
    for doc in shapes:
        for sub in doc.get("subsegments", []):
            notes = sub["annotations"]
            assert isinstance(notes.pop("mongodb_request_id"), int)
            assert isinstance(notes.pop("mongodb_operation_id"), int)
            assert isinstance(notes.pop("mongodb_duration_micros"), int)
            meta = sub.get("metadata", {}).get("default", {})
            for key in ("mongodb_command", "mongodb_reply"):
                if isinstance(meta.get(key), dict):
                    meta[key] = sorted(meta[key])
            if "failure" in meta:
                meta["failure"] = meta["failure"].get("errmsg")
    return shapes


@pytest.mark.parametrize("record_full_documents", [False, True])
def test_same_subsegments_as_upstream(recorders, server, record_full_documents) -> None:  # type: ignore[no-untyped-def]
    result = {}
    for sdk, listener in (("upstream", UpstreamListener), ("fluoro", XrayCommandListener)):
        server.collections.clear()
        result[sdk] = _stable(run_both({sdk: recorders[sdk]}, _scenario(server, listener, record_full_documents))[sdk])
    assert_same(result)
    insert, find, failed = result["fluoro"][0]["subsegments"]
    address = "127.0.0.1:%d" % server.port
    assert insert["name"] == "shop@" + address and insert["namespace"] == "remote"
    assert insert["annotations"] == {"mongodb_command_name": "insert", "mongodb_connection_id": address,
                                     "mongodb_database_name": "shop"}
    assert find["annotations"]["mongodb_command_name"] == "find"
    assert failed["fault"] is True
    assert failed["metadata"]["default"]["failure"] == "no such command: 'noSuchCommand'"
    if record_full_documents:
        assert "documents" in insert["metadata"]["default"]["mongodb_command"]
        assert "cursor" in find["metadata"]["default"]["mongodb_reply"]
    else:
        assert "metadata" not in insert


def test_commands_without_a_segment_are_not_recorded(recorder, server) -> None:  # type: ignore[no-untyped-def]
    # Upstream's listener raises inside pymongo here (it ends a subsegment that is None).
    recorder.configure(context_missing="LOG_ERROR")
    client = _client(server, XrayCommandListener())
    client.shop.orders.insert_one({"item": "pen"})
    assert client.shop.orders.find_one({"item": "pen"})["item"] == "pen"
    client.close()
    assert recorder.captured.documents == []


def test_patch_registers_one_global_listener(recorder, server) -> None:  # type: ignore[no-untyped-def]
    saved = monitoring._LISTENERS
    try:
        patch(("pymongo",))
        patch(("pymongo",))
        plain = pymongo.MongoClient("127.0.0.1", server.port, directConnection=True, serverSelectionTimeoutMS=5000)
        # Registered globally and on the client as well: still one subsegment per command.
        doubled = _client(server, XrayCommandListener())
        with recorder.in_segment("app"):
            plain.shop.command("ping")
            doubled.shop.command("ping")
        plain.close()
        doubled.close()
        subs = recorder.captured.documents[0]["subsegments"]
        assert [s["annotations"]["mongodb_command_name"] for s in subs] == ["ping", "ping"]
        assert all("subsegments" not in s for s in subs)
    finally:
        monitoring._LISTENERS = saved
        monitoring._fluoro_xray_enabled = False
        from fluoro.core.patcher import _PATCHED_MODULES

        _PATCHED_MODULES.discard("pymongo")

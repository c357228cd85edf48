"""A minimal MongoDB wire-protocol responder: enough of a server for pymongo's command monitoring.

No MongoDB server can run here (none is packaged in Debian; pymongo_inmemory downloads
from mongodb.org). This speaks the real protocol over a real socket: the ``hello``
handshake (OP_QUERY and OP_MSG) and OP_MSG commands; ``insert`` stores documents,
``find`` returns them, ``ping``/``endSessions`` succeed, any other command fails with
``CommandNotFound``, as a server does. pymongo's client, its connection pool and its
monitoring events are all real.
"""

from __future__ import annotations

import datetime
import socket
import struct
import threading

import bson

OP_REPLY, OP_QUERY, OP_MSG = 1, 2004, 2013


class WireResponder:
    def __init__(self) -> None:
        self.collections: dict = {}
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.port = self._sock.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._closed = True
        self._sock.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            while True:
                header = _read(conn, 16)
                if header is None:
                    return
                length, request_id, _, opcode = struct.unpack("<iiii", header)
                body = _read(conn, length - 16)
                if body is None:
                    return
                if opcode == OP_QUERY:
                    flags = body[:4]
                    end = body.index(b"\0", 4)
                    query = bson.decode(body[end + 9:end + 9 + struct.unpack("<i", body[end + 9:end + 13])[0]])
                    del flags
                    reply = bson.encode(self._command(query, {}))
                    payload = struct.pack("<iqii", 0, 0, 0, 1) + reply
                    conn.sendall(struct.pack("<iiii", 16 + len(payload), 0, request_id, OP_REPLY) + payload)
                elif opcode == OP_MSG:
                    command, sequences = _parse_msg(body)
                    reply = bson.encode(self._command(command, sequences))
                    payload = struct.pack("<I", 0) + b"\0" + reply
                    conn.sendall(struct.pack("<iiii", 16 + len(payload), 0, request_id, OP_MSG) + payload)
                else:
                    return

    def _command(self, command: dict, sequences: dict) -> dict:
        name = next(iter(command))
        if name.lower() in ("hello", "ismaster"):
            return {"ismaster": True, "helloOk": True, "isWritablePrimary": True, "maxWireVersion": 21,
                    "minWireVersion": 0, "maxBsonObjectSize": 16 * 1024 * 1024, "maxMessageSizeBytes": 48000000,
                    "maxWriteBatchSize": 100000, "localTime": datetime.datetime.now(datetime.timezone.utc),
                    "logicalSessionTimeoutMinutes": 30, "connectionId": 1, "ok": 1.0}
        if name in ("ping", "endSessions", "buildInfo"):
            return {"ok": 1.0, "version": "7.0.0"} if name == "buildInfo" else {"ok": 1.0}
        db = command.get("$db", "test")
        if name == "insert":
            docs = list(command.get("documents", [])) + sequences.get("documents", [])
            self.collections.setdefault((db, command["insert"]), []).extend(docs)
            return {"n": len(docs), "ok": 1.0}
        if name == "find":
            docs = self.collections.get((db, command["find"]), [])
            wanted = command.get("filter") or {}
            found = [d for d in docs if all(d.get(k) == v for k, v in wanted.items())]
            return {"cursor": {"id": 0, "ns": "%s.%s" % (db, command["find"]), "firstBatch": found}, "ok": 1.0}
        return {"ok": 0.0, "errmsg": "no such command: '%s'" % name, "code": 59, "codeName": "CommandNotFound"}


def _read(conn: socket.socket, n: int) -> bytes | None:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _parse_msg(body: bytes) -> tuple:
    pos, command, sequences = 4, {}, {}
    while pos < len(body):
        kind = body[pos]
        pos += 1
        size = struct.unpack("<i", body[pos:pos + 4])[0]
        if kind == 0:
            command = bson.decode(body[pos:pos + size])
        else:
            end = body.index(b"\0", pos + 4)
            identifier = body[pos + 4:end].decode()
            sequences[identifier] = bson.decode_all(body[end + 1:pos + size])
        pos += size
    return command, sequences

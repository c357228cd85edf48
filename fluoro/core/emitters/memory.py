"""An emitter that keeps what it is given: for tests, and for inspecting traces in-process."""

from __future__ import annotations

import json


class InMemoryEmitter:
    """Stores each emitted entity and its document (as the daemon would decode it)."""

    def __init__(self) -> None:
        self.entities: list = []
        self.documents: list = []

    def send_entity(self, entity) -> None:  # type: ignore[no-untyped-def]
        self.entities.append(entity)
        self.documents.append(json.loads(entity.serialize()))

    def set_daemon_address(self, address) -> None:  # type: ignore[no-untyped-def]
        pass

    def clear(self) -> None:
        self.entities.clear()
        self.documents.clear()

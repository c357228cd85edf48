"""Send closed subtrees of a large segment early, so memory stays bounded and
each document stays small. Lambda uses a threshold of 0: every subsegment goes out
as soon as it closes."""

from __future__ import annotations

import threading


class DefaultStreaming:
    def __init__(self, streaming_threshold: int = 30) -> None:
        self._threshold = streaming_threshold
        self._lock = threading.Lock()

    def is_eligible(self, segment) -> bool:  # type: ignore[no-untyped-def]
        """Stream when the sampled segment holds more subsegments than the threshold."""
        return bool(segment) and segment.sampled and segment.get_total_subsegments_size() > self._threshold

    def stream(self, entity, callback) -> None:  # type: ignore[no-untyped-def]
        with self._lock:
            self._stream(entity, callback)

    def _stream(self, entity, callback) -> bool:  # type: ignore[no-untyped-def]
        """Post-order walk: returns True when ``entity`` and its whole subtree are closed.

        A closed subtree whose parent is still open (or has open siblings) is sent on its
        own and removed from the parent."""
        children = entity._subsegments
        children_ready = []
        if children:
            children_ready = [child for child in list(children) if self._stream(child, callback)]
        if len(children_ready) == len(children or ()):
            if not entity.in_progress:
                return True
        for child in children_ready:
            callback(child)
            entity.remove_subsegment(child)
        return False

    @property
    def streaming_threshold(self) -> int:
        return self._threshold

    @streaming_threshold.setter
    def streaming_threshold(self, value: int) -> None:
        self._threshold = value

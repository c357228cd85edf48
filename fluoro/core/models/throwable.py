"""One recorded exception in a ``cause`` block."""

from __future__ import annotations

import logging
import os

from .traceid import new_entity_id

log = logging.getLogger(__name__)

# Frames from inside the SDK are noise to the user reading the stack.
_SDK_PATH_MARKERS = ("fluoro" + os.sep + "core" + os.sep, "fluoro" + os.sep + "ext" + os.sep, "aws_xray_sdk" + os.sep)


class Throwable:
    def __init__(self, exception: BaseException, stack: list | None, remote: bool = False) -> None:
        self.id = new_entity_id()
        try:
            message = str(exception)
        except Exception:
            message = None
        if message:
            self.message = message
        self.type = type(exception).__name__
        self.remote = remote
        try:
            self._normalize_stack(stack)
        except Exception:
            self.stack = None
            log.warning("can not parse stack trace string, ignore stack field.")
        if exception is not None:
            try:
                exception._recorded = True  # type: ignore[union-attr]
                exception._cause_id = self.id  # type: ignore[union-attr]
            except Exception:  # exceptions with __slots__ or frozen attributes
                pass

    def to_dict(self) -> dict:
        out: dict = {"id": self.id}
        message = getattr(self, "message", None)
        if message:
            out["message"] = message
        out["type"] = self.type
        out["remote"] = self.remote
        if self.stack:
            out["stack"] = self.stack
        return out

    def _normalize_stack(self, stack: list | None) -> None:
        if not stack:
            self.stack = None
            return
        frames = []
        for entry in stack:
            path, line, label = entry[0], entry[1], entry[2]
            if any(marker in path for marker in _SDK_PATH_MARKERS):
                continue
            frames.append({"path": os.path.basename(path).replace('"', " ").strip(), "line": line, "label": label})
        self.stack = frames

"""``fluoro.core``: the X-Ray SDK core, import-compatible with ``aws_xray_sdk.core``.

``xray_recorder`` is created on import, as upstream; ``patch``/``patch_all`` are loaded
on first use so that importing the SDK stays cheap.
"""

from __future__ import annotations

from .async_recorder import AsyncAWSXRayRecorder
from .recorder import AWSXRayRecorder

xray_recorder = AsyncAWSXRayRecorder()


def __getattr__(name: str):  # type: ignore[no-untyped-def]
    if name in ("patch", "patch_all"):
        from . import patcher

        return getattr(patcher, name)
    raise AttributeError("module %r has no attribute %r" % (__name__, name))


__all__ = ["patch", "patch_all", "xray_recorder", "AWSXRayRecorder"]

"""Global on/off switch for the SDK (``AWS_XRAY_SDK_ENABLED``), as upstream's ``SDKConfig``.

The environment variable always wins over code, so an operator can switch tracing off
without touching the application.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)

_TRUE = ("y", "yes", "t", "true", "on", "1")
_FALSE = ("n", "no", "f", "false", "off", "0")


#: ``[SDKConfig._enabled]``, kept in step by the metaclass: the recorder's hot path reads
#: this list item, because CPython 3.11 does not specialise attribute reads on a class.
ENABLED: list = [None]


class _SwitchType(type):
    def __setattr__(cls, name: str, value: object) -> None:
        super().__setattr__(name, value)
        if name == "_enabled":
            ENABLED[0] = value

    def __delattr__(cls, name: str) -> None:
        super().__delattr__(name)
        if name == "_enabled":
            ENABLED[0] = getattr(cls, "_enabled", None)


class SDKConfig(metaclass=_SwitchType):
    XRAY_ENABLED_KEY = "AWS_XRAY_SDK_ENABLED"
    DISABLED_ENTITY_NAME = "dummy"

    #: Cached decision; None until first read. The recorder reads it directly on its hot path.
    _enabled: bool | None = None

    @classmethod
    def __get_enabled_from_env(cls) -> bool:
        raw = os.getenv(cls.XRAY_ENABLED_KEY, "true").strip().lower()
        if raw in _TRUE:
            return True
        if raw in _FALSE:
            return False
        log.warning(
            "Invalid literal passed into environment variable `AWS_XRAY_SDK_ENABLED`. "
            "Defaulting to True..."
        )
        return True

    @classmethod
    def sdk_enabled(cls) -> bool:
        if cls._enabled is None:
            cls._enabled = cls.__get_enabled_from_env()
        return cls._enabled

    @classmethod
    def set_sdk_enabled(cls, value: object) -> None:
        """Enable or disable the SDK; ``AWS_XRAY_SDK_ENABLED`` takes precedence if set."""
        if cls.XRAY_ENABLED_KEY in os.environ:
            cls._enabled = cls.__get_enabled_from_env()
            return
        if isinstance(value, bool):
            cls._enabled = value
        else:
            cls._enabled = True
            log.warning("Invalid parameter type passed into set_sdk_enabled(). Defaulting to True...")

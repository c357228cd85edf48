"""The ``XRAY_RECORDER`` settings namespace, with upstream's keys and defaults.

Precedence, as upstream: environment variable (for the three ``AWS_XRAY_*`` keys) >
``settings.XRAY_RECORDER`` > default. Reloaded when a test changes the setting.
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings as django_settings
from django.test.signals import setting_changed

DEFAULTS: dict[str, Any] = {
    "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
    "AUTO_INSTRUMENT": True,
    "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    "PLUGINS": (),
    "SAMPLING": True,
    "SAMPLING_RULES": None,
    "SAMPLER": None,
    "AWS_XRAY_TRACING_NAME": None,
    "DYNAMIC_NAMING": None,
    "STREAMING_THRESHOLD": None,
    "MAX_TRACE_BACK": None,
    "STREAM_SQL": True,
    "PATCH_MODULES": [],
    "AUTO_PATCH_PARENT_SEGMENT_NAME": None,
    "IGNORE_MODULE_PATTERNS": [],
    # 'NONE': never; 'LAMBDA': inside Lambda only; 'ALL': always write http fields as annotations too.
    "URLS_AS_ANNOTATION": "LAMBDA",
}

XRAY_NAMESPACE = "XRAY_RECORDER"

SUPPORTED_ENV_VARS = ("AWS_XRAY_DAEMON_ADDRESS", "AWS_XRAY_CONTEXT_MISSING", "AWS_XRAY_TRACING_NAME")


class XRaySettings:
    """Attribute access to the namespace: ``settings.SAMPLING``; unknown keys raise AttributeError."""

    def __init__(self, user_settings: dict | None = None) -> None:
        self.defaults = DEFAULTS
        if user_settings:
            self._user_settings = user_settings

    @property
    def user_settings(self) -> dict:
        if not hasattr(self, "_user_settings"):
            self._user_settings = getattr(django_settings, XRAY_NAMESPACE, {}) or {}
        return self._user_settings

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_") or attr not in self.defaults:
            raise AttributeError("Invalid setting: %s" % attr)
        value = self.user_settings.get(attr)
        if attr in SUPPORTED_ENV_VARS:
            return os.getenv(attr, value if value is not None else self.defaults[attr])
        return value if value is not None else self.defaults[attr]


settings = XRaySettings()


def reload_settings(*args: Any, **kwargs: Any) -> None:
    """``setting_changed`` receiver: a new ``XRAY_RECORDER`` value replaces the cached one."""
    global settings
    if kwargs.get("setting") == XRAY_NAMESPACE:
        settings = XRaySettings(kwargs.get("value"))


setting_changed.connect(reload_settings)

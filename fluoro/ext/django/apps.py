"""The Django app: configures the global recorder from ``XRAY_RECORDER`` when Django starts."""

from __future__ import annotations

import logging

from django.apps import AppConfig

from ...core import xray_recorder
from ...core.exceptions.exceptions import SegmentNameMissingException
from . import conf
from .db import patch_db
from .templates import patch_template

log = logging.getLogger(__name__)


class XRayConfig(AppConfig):
    name = "fluoro.ext.django"

    def ready(self) -> None:
        """Idempotent: Django may call it twice (base command, then the autoreloader)."""
        settings = conf.settings
        if not settings.AWS_XRAY_TRACING_NAME:
            raise SegmentNameMissingException("Segment name is required.")

        xray_recorder.configure(
            daemon_address=settings.AWS_XRAY_DAEMON_ADDRESS,
            sampling=settings.SAMPLING,
            sampling_rules=settings.SAMPLING_RULES,
            sampler=settings.SAMPLER,
            context_missing=settings.AWS_XRAY_CONTEXT_MISSING,
            plugins=settings.PLUGINS,
            service=settings.AWS_XRAY_TRACING_NAME,
            dynamic_naming=settings.DYNAMIC_NAMING,
            streaming_threshold=settings.STREAMING_THRESHOLD,
            max_trace_back=settings.MAX_TRACE_BACK,
            stream_sql=settings.STREAM_SQL,
        )

        if settings.PATCH_MODULES:
            from ...core import patch

            if settings.AUTO_PATCH_PARENT_SEGMENT_NAME is not None:
                with xray_recorder.in_segment(settings.AUTO_PATCH_PARENT_SEGMENT_NAME):
                    patch(settings.PATCH_MODULES, ignore_module_patterns=settings.IGNORE_MODULE_PATTERNS)
            else:
                patch(settings.PATCH_MODULES, ignore_module_patterns=settings.IGNORE_MODULE_PATTERNS)

        if settings.AUTO_INSTRUMENT:
            try:
                patch_db()
            except Exception:
                log.warning("failed to patch Django's database connections", exc_info=True)
            try:
                patch_template()
            except Exception:
                log.warning("failed to patch Django's template engine", exc_info=True)

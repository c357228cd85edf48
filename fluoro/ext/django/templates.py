"""Django template rendering as subsegments named after the template."""

from __future__ import annotations

from typing import Any

from ...core import xray_recorder
from ..templates import trace_render


def _template_name(args: tuple, kwargs: dict) -> Any:
    template = args[0]
    context = args[1] if len(args) > 1 else kwargs.get("context")
    return template.name or getattr(context, "template_name", None)


def patch_template() -> None:
    """Trace ``django.template.Template.render`` (once)."""
    from django.template import Template

    Template.render = trace_render(Template.render, xray_recorder, _template_name)  # type: ignore[method-assign]

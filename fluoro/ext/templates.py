"""Template rendering as ``template_render`` subsegments renamed to the template's name,
shared by the Django, Flask and Bottle integrations."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ._http_entry import has_trace_entity

_TRACED_ATTR = "_fluoro_traced_render"
_recorders: dict = {}


def trace_render(render: Callable, recorder: Any, name_of: Callable[[tuple, dict], Any]) -> Callable:
    """``render`` wrapped in a subsegment; wrapping an already wrapped function only updates
    the recorder it reports to (upstream wrapped again and nested duplicates)."""
    original = getattr(render, _TRACED_ATTR, None)
    if original is not None:
        _recorders[original] = recorder
        return render
    _recorders[render] = recorder

    @functools.wraps(render)
    def traced(*args: Any, **kwargs: Any) -> Any:
        rec = _recorders[render]
        if not has_trace_entity(rec):
            return render(*args, **kwargs)
        try:
            name = name_of(args, kwargs)
        except Exception:
            name = None
        with rec.in_subsegment("%s" % name if name else "template_render"):
            return render(*args, **kwargs)

    setattr(traced, _TRACED_ATTR, render)
    return traced


def untrace_render(render: Callable) -> Callable:
    """The original of a function returned by :func:`trace_render` (itself if not traced)."""
    return getattr(render, _TRACED_ATTR, render)


"""Shared SDK test fixtures."""

from __future__ import annotations

from typing import Iterator

import pytest

from fluoro.core import xray_recorder
from fluoro.core.context import Context
from fluoro.core.emitters.memory import InMemoryEmitter
from fluoro.core.recorder import AWSXRayRecorder


@pytest.fixture
def global_recorder(monkeypatch: pytest.MonkeyPatch) -> Iterator[AWSXRayRecorder]:
    """The global recorder with a fresh thread-local Context and an in-memory emitter.

    Everything ``configure`` changed is restored afterwards, so tests stay independent.
    """
    monkeypatch.delenv("AWS_XRAY_CONTEXT_MISSING", raising=False)
    monkeypatch.delenv("AWS_XRAY_TRACING_NAME", raising=False)
    saved = dict(vars(xray_recorder)), xray_recorder.streaming_threshold
    xray_recorder.configure(sampling=False, context=Context(), emitter=InMemoryEmitter(), service="test")
    yield xray_recorder
    xray_recorder.clear_trace_entities()
    xray_recorder.__dict__.clear()
    xray_recorder.__dict__.update(saved[0])
    xray_recorder.streaming_threshold = saved[1]

"""What the API handlers share: the ingest pipeline, the query service, small account state."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from fluoro.daemon.metrics import IngestMetrics
from fluoro.daemon.pipeline import Pipeline
from fluoro.query.service import QueryService

MAX_BODY = 16 * 1024 * 1024


@dataclass
class ApiContext:
    pipeline: Pipeline
    queries: QueryService
    metrics: IngestMetrics
    max_body: int = MAX_BODY
    encryption: dict[str, Any] = field(default_factory=lambda: {"Type": "NONE", "Status": "ACTIVE"})
    telemetry: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=1000))
    ready: bool = True


Handler = Callable[[ApiContext, dict[str, Any]], Awaitable[dict[str, Any]]]

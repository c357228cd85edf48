"""What the API handlers share: the ingest pipeline, the query service, the configuration
store (rules, groups, tags), and the account identity that ARNs carry."""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from fluoro.daemon.metrics import IngestMetrics
from fluoro.daemon.pipeline import Pipeline
from fluoro.query.graph_service import GraphQueries
from fluoro.query.service import QueryService
from fluoro.store.api import ConfigStore

MAX_BODY = 16 * 1024 * 1024


@dataclass
class ApiContext:
    pipeline: Pipeline
    queries: QueryService
    metrics: IngestMetrics
    config: ConfigStore
    # ARNs are arn:aws:xray:<region>:<account_id>:...; fluoro has no AWS account.
    region: str = field(default_factory=lambda: os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1")
    account_id: str = field(default_factory=lambda: os.environ.get("FLUORO_ACCOUNT_ID") or "000000000000")
    max_body: int = MAX_BODY
    encryption: dict[str, Any] = field(default_factory=lambda: {"Type": "NONE", "Status": "ACTIVE"})
    telemetry: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=1000))
    ready: bool = True
    graphs: GraphQueries | None = None


Handler = Callable[[ApiContext, dict[str, Any]], Awaitable[dict[str, Any]]]

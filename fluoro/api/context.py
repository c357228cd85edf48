"""What the API handlers share: the ingest pipeline, the query service, the configuration
store (rules, groups, tags), and the account identity that ARNs carry."""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from fluoro.api.errors import InvalidRequest
from fluoro.daemon.metrics import IngestMetrics
from fluoro.daemon.pipeline import Pipeline
from fluoro.query.graph_service import GraphQueries
from fluoro.query.service import QueryService
from fluoro.store.api import ConfigStore

MAX_BODY = 16 * 1024 * 1024
DEFAULT_GROUP = "Default"


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

    def group_filter(self, name_or_arn: str | None) -> str | None:
        """The filter expression of a group given by name or ARN; None for no group or ``Default``.

        Raises InvalidRequest when the group does not exist (groups live in the config store).
        """
        if name_or_arn is None or name_or_arn == DEFAULT_GROUP:
            return None
        name = name_or_arn
        if name_or_arn.startswith("arn:"):
            parts = name_or_arn.split(":", 5)[-1].split("/")
            if len(parts) < 2 or parts[0] != "group":
                raise InvalidRequest(f"Group not found: {name_or_arn}")
            name = parts[1]
        group = self.config.get_group(name)
        if group is None:
            raise InvalidRequest(f"Group not found: {name_or_arn}")
        return group.filter_expression


Handler = Callable[[ApiContext, dict[str, Any]], Awaitable[dict[str, Any]]]

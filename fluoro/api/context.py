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

        Raises InvalidRequest when the group does not exist.  Until groups are
        stored (CreateGroup), only ``Default`` exists; the groups work replaces
        this lookup and keeps the contract.
        """
        if name_or_arn is None or name_or_arn == DEFAULT_GROUP:
            return None
        resource = name_or_arn.split(":", 5)[-1] if name_or_arn.startswith("arn:") else None
        if resource is not None and resource.split("/")[:2] == ["group", DEFAULT_GROUP]:
            return None
        raise InvalidRequest(f"Group not found: {name_or_arn}")


Handler = Callable[[ApiContext, dict[str, Any]], Awaitable[dict[str, Any]]]

"""ECS plugin: the container's hostname (the container ID by default) as ``aws.ecs.container``."""

from __future__ import annotations

import logging
import socket

log = logging.getLogger(__name__)

SERVICE_NAME = "ecs"
ORIGIN = "AWS::ECS::Container"

runtime_context: dict | None = None


def initialize() -> None:
    global runtime_context
    try:
        context = {}
        host_name = socket.gethostname()
        if host_name:
            context["container"] = host_name
        runtime_context = context
    except Exception:
        runtime_context = None
        log.warning("failed to get ecs container metadata")

"""A real fluoro server (in-memory store, UDP + X-Ray API) for the local emulator's tests."""

from __future__ import annotations

import json
import time
from typing import Any, Callable, Iterator

import boto3
import pytest
from botocore.config import Config

from fluoro.daemon.pipeline import PipelineConfig
from fluoro.server import FluoroServer, ServerConfig


class TraceReader:
    """Reads traces back through the X-Ray API with boto3, as a user would."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.daemon_address = "127.0.0.1:%d" % port
        self.client = boto3.client("xray", endpoint_url="http://127.0.0.1:%d" % port, region_name="us-east-1",
                                   aws_access_key_id="test", aws_secret_access_key="test",
                                   config=Config(retries={"max_attempts": 1}))

    def trace(self, trace_id: str, ready: Callable[[list[dict[str, Any]]], bool], timeout: float = 20.0
              ) -> list[dict[str, Any]]:
        """The trace's parsed documents once ``ready(docs)`` holds (a deadline, not a timing check)."""
        deadline = time.monotonic() + timeout
        docs: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            traces = self.client.batch_get_traces(TraceIds=[trace_id])["Traces"]
            docs = [json.loads(s["Document"]) for s in traces[0]["Segments"]] if traces else []
            if docs and ready(docs):
                return docs
            time.sleep(0.1)
        return docs


@pytest.fixture(scope="module")
def xray() -> Iterator[TraceReader]:
    config = ServerConfig(port=0, store="memory", log_level="warning", pipeline=PipelineConfig(flush_interval=0.05))
    server = FluoroServer(config).start_in_thread()
    try:
        yield TraceReader(server.port)
    finally:
        server.stop()


def by_origin(docs: list[dict[str, Any]], origin: str) -> list[dict[str, Any]]:
    return [d for d in docs if d.get("origin") == origin]


def has(*origins: str) -> Callable[[list[dict[str, Any]]], bool]:
    """``TraceReader.trace``'s ``ready``: a document of each origin is stored.

    The function's segment and the stage's are sent by different processes at
    different moments, so the server may store them in different flushes.
    """
    return lambda docs: all(by_origin(docs, origin) for origin in origins)


def find(entity: dict[str, Any], name: str) -> dict[str, Any] | None:
    """The first entity called ``name`` in a document's subsegment tree."""
    for sub in entity.get("subsegments", []) or []:
        if sub["name"] == name:
            return sub  # type: ignore[no-any-return]
        found = find(sub, name)
        if found:
            return found
    return None

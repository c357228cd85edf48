"""The API suite runs once per store backend, with the same assertions (same answers)."""

from __future__ import annotations

import uuid
from typing import Iterator

import pytest

from fluoro.server import FluoroServer

from ..helpers import start_server


@pytest.fixture(scope="module", params=["duckdb", "clickhouse"])
def server(request: pytest.FixtureRequest) -> Iterator[FluoroServer]:
    store = "memory"
    if request.param == "clickhouse":
        sandbox = request.getfixturevalue("clickhouse")
        store = sandbox.url(f"fluoro_api_{uuid.uuid4().hex[:12]}")
    srv = start_server(store)
    yield srv
    srv.stop()

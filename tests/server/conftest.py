"""Fixtures: a real server on a free loopback port, and a real boto3 client for it."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from fluoro.server import FluoroServer

from .helpers import start_server, xray_client


@pytest.fixture(scope="module")
def server() -> Iterator[FluoroServer]:
    srv = start_server()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def xray(server: FluoroServer) -> Any:
    return xray_client(server.port)

"""Fixtures: a real server on a free loopback port, a real boto3 client for it, a real ClickHouse."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from fluoro.server import FluoroServer
from fluoro.store.clickhouse.sandbox import ClickHouseSandbox, server_command

from .helpers import start_server, xray_client


@pytest.fixture(scope="module")
def server() -> Iterator[FluoroServer]:
    srv = start_server()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def xray(server: FluoroServer) -> Any:
    return xray_client(server.port)


@pytest.fixture(scope="session")
def clickhouse() -> Iterator[ClickHouseSandbox]:
    """A private clickhouse-server for the whole session (Debian's package; CI installs it)."""
    if server_command() is None:
        pytest.skip("clickhouse-server is not installed (apt-get install clickhouse-server)")
    sandbox = ClickHouseSandbox().start()
    yield sandbox
    sandbox.cleanup()

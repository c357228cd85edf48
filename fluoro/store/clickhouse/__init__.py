"""ClickHouse trace store (``clickhouse://HOST:9000/DB``), for fleets that outgrow one embedded file."""

from fluoro.store.clickhouse.config import ClickHouseConfig
from fluoro.store.clickhouse.store import ClickHouseStore

__all__ = ["ClickHouseConfig", "ClickHouseStore"]

"""The ``ConfigStore`` contract on every backend: atomic limits, optimistic updates,
tags, statistics windows and quota leases that never over-allocate."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable, Iterator

import pytest

from fluoro.store import open_store
from fluoro.store.api import (
    AlreadyExists,
    ConfigStore,
    GroupRecord,
    LimitExceeded,
    NotFound,
    ResourceRef,
    RuleRecord,
    StatisticsRow,
    Store,
    TooManyTags,
)

from .test_conformance import fresh_clickhouse_url

BACKENDS: dict[str, Callable[[pytest.FixtureRequest, Path], Store]] = {
    "duckdb-memory": lambda request, tmp: open_store("memory"),
    "duckdb-file": lambda request, tmp: open_store(str(tmp / "config.duckdb")),
    "clickhouse": lambda request, tmp: open_store(fresh_clickhouse_url(request)),
}


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    store = BACKENDS[request.param](request, tmp_path)
    yield store
    store.close()


@pytest.fixture
def config(backend: Store) -> ConfigStore:
    return backend.config_store()


def rule(name: str, t: float = 100.0, **members: object) -> RuleRecord:
    body = {"ResourceARN": "*", "Priority": 5, "FixedRate": 0.1, "ReservoirSize": 10, "ServiceName": "*",
            "ServiceType": "*", "Host": "*", "HTTPMethod": "*", "URLPath": "*", "Version": 1, **members}  # fmt: skip
    return RuleRecord(name, body, t, t)


def test_rules_create_limit_and_duplicates(config: ConfigStore) -> None:
    config.ensure_rule(rule("Default", 1.0))
    config.ensure_rule(rule("Default", 2.0))  # a second server starting: no change
    assert [r.modified_at for r in config.list_rules()] == [1.0]
    for i in range(3):
        config.create_rule(rule(f"r{i}", 10.0 + i), max_rules=4)
    with pytest.raises(AlreadyExists):
        config.create_rule(rule("r0"), max_rules=10)
    with pytest.raises(LimitExceeded):
        config.create_rule(rule("r9"), max_rules=4)
    assert sorted(r.name for r in config.list_rules()) == ["Default", "r0", "r1", "r2"]
    assert config.rules_modified() == 12.0


def test_rule_update_is_optimistic_and_delete_bumps_modification(config: ConfigStore) -> None:
    config.create_rule(rule("a", 10.0), max_rules=5)
    changed = RuleRecord("a", {**rule("a").rule, "FixedRate": 0.9}, 10.0, 20.0)
    assert config.update_rule(changed, expect_modified=10.0) is True
    stale = RuleRecord("a", {**rule("a").rule, "FixedRate": 0.2}, 10.0, 21.0)
    assert config.update_rule(stale, expect_modified=10.0) is False  # someone changed it at 20.0
    got = config.get_rule("a")
    assert got is not None and got.rule["FixedRate"] == 0.9 and got.modified_at == 20.0
    assert config.delete_rule("a", now=30.0).rule["FixedRate"] == 0.9
    assert config.get_rule("a") is None and config.rules_modified() == 30.0
    with pytest.raises(NotFound):
        config.delete_rule("a", now=31.0)
    with pytest.raises(NotFound):
        config.update_rule(changed, expect_modified=20.0)


def test_concurrent_creates_respect_the_limit(config: ConfigStore) -> None:
    errors: list[Exception] = []

    def create(i: int) -> None:
        try:
            config.create_rule(rule(f"c{i}"), max_rules=5)
        except LimitExceeded as exc:
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(config.list_rules()) == 5 and len(errors) == 7


def test_groups_and_tags(config: ConfigStore) -> None:
    config.create_group(GroupRecord("g", "ID1", "fault", {"InsightsEnabled": True}), max_groups=2)
    with pytest.raises(AlreadyExists):
        config.create_group(GroupRecord("g", "ID2", None, {}), max_groups=9)
    config.create_group(GroupRecord("h", "ID3", None, {}), max_groups=2)
    with pytest.raises(LimitExceeded):
        config.create_group(GroupRecord("i", "ID4", None, {}), max_groups=2)
    config.update_group(GroupRecord("g", "ID1", "error", {"InsightsEnabled": False}))
    with pytest.raises(NotFound):
        config.update_group(GroupRecord("g", "WRONG", "error", {}))
    got = config.get_group("g")
    assert got is not None and got.filter_expression == "error" and got.insights == {"InsightsEnabled": False}

    ref = ResourceRef("group", "g", "ID1")
    assert config.change_tags(ref, {"a": "1", "b": "2"}, [], max_tags=3) == {"a": "1", "b": "2"}
    with pytest.raises(TooManyTags):
        config.change_tags(ref, {"c": "3", "d": "4"}, [], max_tags=3)
    assert config.change_tags(ref, {"c": "3"}, ["a"], max_tags=3) == {"b": "2", "c": "3"}
    with pytest.raises(NotFound):
        config.change_tags(ResourceRef("group", "g", "ID9"), {}, [], max_tags=3)
    config.create_rule(rule("r"), max_rules=3)
    assert config.change_tags(ResourceRef("sampling-rule", "r"), {"x": ""}, [], 3) == {"x": ""}
    assert config.delete_group("g").name == "g"
    with pytest.raises(NotFound):
        config.change_tags(ref, {}, [], max_tags=3)


def test_statistics_sum_per_window_and_expire(config: ConfigStore) -> None:
    config.add_statistics([StatisticsRow("r", 100.0, 10, 2, 1), StatisticsRow("r", 100.0, 5, 1, 0),
                           StatisticsRow("s", 110.0, 7, 7, 0)], keep_after=0)  # fmt: skip
    assert config.statistics(since=0) == [StatisticsRow("s", 110.0, 7, 7, 0), StatisticsRow("r", 100.0, 15, 3, 1)]
    config.add_statistics([StatisticsRow("r", 200.0, 1, 1, 0)], keep_after=150.0)
    assert [row.window_start for row in config.statistics(since=0)] == [200.0]


def test_leases_never_exceed_capacity(config: ConfigStore) -> None:
    assert config.lease_quota("r", "a" * 24, 10, 10, 5.0, now=0.0, expires=20.0) == 10
    # Another client asks for half while the first still holds everything: nothing left.
    assert config.lease_quota("r", "b" * 24, 5, 10, 5.0, now=1.0, expires=21.0) == 0
    # The first renews with its fair half; the second then gets its half.
    assert config.lease_quota("r", "a" * 24, 5, 10, 5.0, now=10.0, expires=30.0) == 5
    assert config.lease_quota("r", "b" * 24, 5, 10, 5.0, now=11.0, expires=31.0) == 5
    assert {c.client_id[0]: c.quota for c in config.active_clients("r", now=12.0)} == {"a": 5, "b": 5}
    # Expired leases free their quota.
    assert [c.client_id[0] for c in config.active_clients("r", now=30.5)] == ["b"]
    assert config.lease_quota("r", "c" * 24, 10, 10, 5.0, now=30.5, expires=50.0) == 5


def test_concurrent_leases_never_over_allocate(config: ConfigStore) -> None:
    grants: list[int] = []
    lock = threading.Lock()

    def lease(i: int) -> None:
        got = config.lease_quota("r", f"{i:024d}", 4, 10, 4.0, now=0.0, expires=20.0)
        with lock:
            grants.append(got)

    threads = [threading.Thread(target=lease, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(grants) == 10 and max(grants) <= 4


def test_config_survives_reopen(tmp_path: Path) -> None:
    path = str(tmp_path / "persist.duckdb")
    store = open_store(path)
    store.config_store().create_rule(rule("keep", 5.0), max_rules=3)
    store.config_store().create_group(GroupRecord("g", "ID", "ok", {}), max_groups=3)
    store.close()
    store = open_store(path)
    try:
        kept = store.config_store().get_rule("keep")
        assert kept is not None and kept.rule["ReservoirSize"] == 10
        assert store.config_store().rules_modified() == 5.0
        assert [g.name for g in store.config_store().list_groups()] == ["g"]
    finally:
        store.close()


def _tables(db: object, catalog: str) -> set[str]:
    rows = db.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = ?", [catalog]).fetchall()  # type: ignore[attr-defined]
    return {str(r[0]) for r in rows}


def test_configuration_is_a_database_of_its_own(tmp_path: Path) -> None:
    """A checkpoint of the trace data blocks commits to its own database only, not to the configuration's."""
    path = tmp_path / "own.duckdb"
    store = open_store(str(path))
    try:
        store.config_store().create_rule(rule("r", 5.0), max_rules=3)
        db = store._db  # type: ignore[attr-defined]
        assert {"sampling_rules", "sampling_leases", "meta"} <= _tables(db, "fluoro_config")
        assert not {"sampling_rules", "xray_groups", "sampling_statistics", "sampling_leases"} & _tables(db, "store")
    finally:
        store.close()
    assert (tmp_path / "own.duckdb.config").is_file()


@pytest.mark.parametrize("crashed_after_copy", [False, True])
def test_a_file_with_the_configuration_inside_moves_it_out(tmp_path: Path, crashed_after_copy: bool) -> None:
    """Files written before the split keep their rules, groups, statistics and LastRuleModification."""
    import duckdb

    path = tmp_path / "old.duckdb"
    store = open_store(str(path))
    config = store.config_store()
    config.create_rule(rule("keep", 7.0), max_rules=3)
    config.create_group(GroupRecord("g", "ID", "ok", {}), max_groups=3)
    config.add_statistics([StatisticsRow("keep", 100.0, 5, 1, 0)], keep_after=0.0)
    store.close()
    # What an older fluoro left: the same tables and rows inside the trace database.
    db = duckdb.connect(str(path))
    db.execute(f"ATTACH '{path}.config' AS c (READ_ONLY)")
    for table in ("sampling_rules", "xray_groups", "sampling_statistics", "sampling_leases"):
        db.execute(f"CREATE TABLE {table} AS SELECT * FROM c.{table}")
    db.execute("INSERT INTO meta SELECT * FROM c.meta WHERE key = 'rules_modified'")
    if crashed_after_copy:  # the copy committed, the old tables were not dropped yet
        db.execute("DETACH c")
        db.execute(f"ATTACH '{path}.config' AS c")
        db.execute("INSERT INTO c.meta VALUES ('moved_from_store', '1')")
    db.close()
    if not crashed_after_copy:
        for leftover in tmp_path.glob("old.duckdb.config*"):
            leftover.unlink()
    store = open_store(str(path))
    try:
        config = store.config_store()
        assert [r.name for r in config.list_rules()] == ["keep"]
        assert config.rules_modified() == 7.0
        assert [g.name for g in config.list_groups()] == ["g"]
        assert [(s.rule, s.request_count) for s in config.statistics(0.0)] == [("keep", 5)]
        assert not {"sampling_rules", "xray_groups"} & _tables(store._db, "store")  # type: ignore[attr-defined]
        assert store._db.execute("SELECT count(*) FROM meta WHERE key = 'rules_modified'").fetchone() == (0,)  # type: ignore[attr-defined]
    finally:
        store.close()

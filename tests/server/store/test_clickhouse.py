"""ClickHouse-specific behaviour: URL options, migrations, shared state, retries, and the
same filter answers as DuckDB over one randomised data set."""

from __future__ import annotations

import random
import time
import uuid
from typing import Any, Iterator

import pytest

from fluoro.query.filters import parse
from fluoro.store import open_store
from fluoro.store.api import GroupRecord, Store, TimeRangeType, TraceQuery
from fluoro.store.clickhouse import ClickHouseConfig, ClickHouseStore
from fluoro.store.clickhouse.sandbox import ClickHouseSandbox
from fluoro.store.clickhouse.schema import MIGRATIONS, Features, Tables, parse_version

from ..helpers_docs import new_id, new_trace_id, segment
from .test_conformance import batch_of


@pytest.fixture
def url(clickhouse: ClickHouseSandbox) -> str:
    return clickhouse.url(f"fluoro_{uuid.uuid4().hex[:12]}")


def test_url_options() -> None:
    cfg = ClickHouseConfig.from_url("clickhouse://u:p%40ss@db.example:9440/traces?cluster=main&pool_size=8")
    assert (cfg.host, cfg.port, cfg.user, cfg.password, cfg.database, cfg.cluster, cfg.pool_size) == (
        "db.example", 9440, "u", "p@ss", "traces", "main", 8)  # fmt: skip
    assert ClickHouseConfig.from_url("clickhouse://h").database == "fluoro"
    with pytest.raises(ValueError, match="unknown clickhouse URL option"):
        ClickHouseConfig.from_url("clickhouse://h/db?clutser=x")
    with pytest.raises(ValueError, match="database name"):
        ClickHouseConfig.from_url("clickhouse://h/db;drop")
    cfg = ClickHouseConfig.from_url("clickhouse://h/db?cluster=c&replicated=1&config_host=cfg.example:9001")
    assert (cfg.replicated, cfg.config_host) == (True, "cfg.example:9001")
    assert ClickHouseConfig.from_url("clickhouse://h/db").replicated is False
    with pytest.raises(ValueError, match="replicated must be"):
        ClickHouseConfig.from_url("clickhouse://h/db?replicated=yes")
    with pytest.raises(ValueError, match="config_host must be host:port"):
        ClickHouseConfig.from_url("clickhouse://h/db?config_host=cfg.example")


def test_replicated_tables_use_the_node_macros() -> None:
    ddl = "\n".join(MIGRATIONS[0][1](Tables("db", "c", replicated=True), Features.for_version((18, 16, 1))))
    assert "ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/db/segments', '{replica}')" in ddl
    assert "ReplicatedMergeTree('/clickhouse/tables/{shard}/db/annotations', '{replica}')" in ddl
    assert "ReplicatedMergeTree" not in "\n".join(
        MIGRATIONS[0][1](Tables("db", "c"), Features.for_version((18, 16, 1)))
    )


def test_replicated_setting_that_the_tables_lack_is_refused(url: str) -> None:
    open_store(url).close()  # plain MergeTree tables
    with pytest.raises(ValueError, match="is a MergeTree table but the URL asks for ReplicatedMergeTree"):
        open_store(url + "?replicated=1")


def test_the_engine_check_retries_a_listing_that_raced_a_dropped_table(url: str) -> None:
    """Old servers fail a system.tables query when a table goes away meanwhile (another
    server releasing its configuration lock); starting must not fail on it."""
    from clickhouse_driver.errors import ServerException

    store = open_store(url)
    try:
        with store._client() as real:  # type: ignore[attr-defined]
            failures = [ServerException("Table db.fluoro_config_lock doesn't exist", code=60)]

            class Racing:
                def execute(self, *args: Any, **kwargs: Any) -> Any:
                    if failures:
                        raise failures.pop()
                    return real.execute(*args, **kwargs)

            store._check_engine(Racing())  # type: ignore[attr-defined]
            assert not failures
            failures.append(ServerException("Syntax error", code=62))  # anything else still raises
            with pytest.raises(ServerException):
                store._check_engine(Racing())  # type: ignore[attr-defined]
    finally:
        store.close()


def test_configuration_can_live_on_another_node(clickhouse: ClickHouseSandbox, url: str) -> None:
    other = ClickHouseSandbox().start()
    try:
        database = url.rsplit("/", 1)[1]
        a = open_store(url)
        b = open_store(f"{other.url(database)}?config_host=127.0.0.1:{clickhouse.tcp_port}")
        try:
            assert isinstance(a, ClickHouseStore) and isinstance(b, ClickHouseStore)
            assert b.config_node == ("127.0.0.1", clickhouse.tcp_port)
            a.config_store().ensure_group(GroupRecord("shared", "g-1", "fault", {}))
            assert [g.name for g in b.config_store().list_groups()] == ["shared"]
        finally:
            a.close()
            b.close()
    finally:
        other.cleanup()


def test_version_extras_only_where_the_server_has_them() -> None:
    tables = Tables("db", None)

    def ddl(version: str) -> str:
        return "\n".join(MIGRATIONS[0][1](tables, Features.for_version(parse_version(version))))

    old = ddl("18.16.1")
    assert "LowCardinality" not in old and "INDEX" not in old and "TTL" not in old and "Map(" not in old
    assert "LowCardinality(String)" in ddl("19.3.3") and "INDEX" not in ddl("19.3.3")
    assert "bloom_filter" in ddl("24.8.1.2684") and parse_version("24.8.1.2684") == (24, 8, 1)


def test_schema_created_once_and_shared_by_two_servers(url: str) -> None:
    first, second = open_store(url), open_store(url)  # the second start finds version 1 applied
    try:
        assert isinstance(first, ClickHouseStore)
        rows = first._execute(f"SELECT version FROM {first.config.database}.fluoro_schema", [])
        assert sorted(rows) == [(1,), (2,), (3,)]
        doc = segment()
        first.write(batch_of(doc))
        # Nothing lives in one process: the other instance reads it at once.
        assert [d.id for d in second.documents([doc["trace_id"]])] == [doc["id"]]
    finally:
        first.close()
        second.close()


def test_retried_batch_is_idempotent(url: str) -> None:
    store = open_store(url)
    try:
        base = int(time.time()) - 600
        trace_id = new_trace_id(base)
        root = segment(trace_id, start_time=base, end_time=base + 1)
        child = segment(trace_id, parent_id=root["id"], start_time=base, end_time=base + 2)
        batch = batch_of(root, child, received=base + 5.0)
        store.write(batch)
        store.write(batch)  # a retry after a lost acknowledgement
        assert sorted(d.id for d in store.documents([trace_id])) == sorted([root["id"], child["id"]])
        page = store.find_traces(TraceQuery(base - 1, base + 60, filter=parse("duration = 2")))
        assert [h.trace_id for h in page.hits] == [trace_id] and page.processed == 1
    finally:
        store.close()


def _random_data(seed: int, base: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    docs = []
    for i in range(60):
        trace_id = new_trace_id(base + i)
        status = rng.choice([None, 200, 201, 404, 429, 500, 503])
        http: dict[str, Any] = {}
        if rng.random() < 0.8:
            http["request"] = {"method": rng.choice(["GET", "POST"]), "url": rng.choice(
                ["http://s/home", "http://s/checkout/1", "https://api/game/7"]), "client_ip": "10.0.0.1"}  # fmt: skip
        if status is not None:
            http["response"] = {"status": status}
        annotations: dict[str, Any] = {}
        if rng.random() < 0.7:
            annotations["team"] = rng.choice(["blue", "red", "bluegreen"])
        if rng.random() < 0.5:
            annotations["n"] = rng.randint(0, 10)
        if rng.random() < 0.3:
            annotations["vip"] = rng.random() < 0.5
        extra: dict[str, Any] = {}
        if rng.random() < 0.4:
            extra["user"] = rng.choice(["bob", "alice", "bo"])
        if rng.random() < 0.2:
            extra["fault"] = True
        start = base + i + rng.random()
        root = segment(trace_id, start_time=start, end_time=start + rng.random() * 3, http=http,
                       annotations=annotations, **extra)  # fmt: skip
        docs.append(root)
        if rng.random() < 0.5:
            docs.append(segment(trace_id, parent_id=root["id"], id=new_id(), start_time=start + 0.1,
                                end_time=start + rng.random() * 6, user=rng.choice(["carol", None]) or "dave"))  # fmt: skip
        if rng.random() < 0.15:
            partial = segment(
                trace_id, parent_id=root["id"], id=new_id(), start_time=start + 0.2, in_progress=True
            )
            del partial["end_time"]
            docs.append(partial)
    return docs


EXPRESSIONS = [
    "", "ok", "!ok", "fault", "error", "throttle", "partial", "!partial", "ok = false AND http.status = 404",
    "responsetime > 1", "responsetime < 1 ok", "duration >= 2", "duration < 1.5 OR fault",
    "http.status = 200", "http.status != 200", "http.status >= 400", 'http.method = "GET"',
    'http.url CONTAINS "/checkout"', 'http.url BEGINSWITH "https"', 'http.url ENDSWITH "home"', "http.url",
    "!http.url", 'http.clientip = "10.0.0.1"', 'user = "bob"', 'user BEGINSWITH "bo"', 'user ENDSWITH "ol"',
    'user CONTAINS "a"', "user", 'annotation.team = "blue"', 'annotation.team != "blue"',
    'annotation.team CONTAINS "blue"', "annotation.team", "!annotation.team", "annotation.n >= 5",
    "annotation.n = 3", "annotation.vip = true", "annotation.vip = false",
    '(annotation.team = "red" OR user = "alice") AND !fault', 'NOT (http.method = "POST" OR duration > 3)',
]  # fmt: skip


@pytest.fixture(scope="module")
def both(clickhouse: ClickHouseSandbox) -> Iterator[tuple[Store, Store, int]]:
    base = int(time.time()) - 4 * 3600
    docs = _random_data(7, base)
    duck = open_store("memory")
    ch = open_store(clickhouse.url(f"fluoro_diff_{uuid.uuid4().hex[:8]}"))
    for store in (duck, ch):
        store.write(batch_of(*docs[:70]))
        store.write(batch_of(*docs[70:]))
    yield duck, ch, base
    duck.close()
    ch.close()


@pytest.mark.parametrize("expression", EXPRESSIONS)
@pytest.mark.parametrize("range_type", list(TimeRangeType))
def test_same_answers_as_duckdb(
    both: tuple[Store, Store, int], expression: str, range_type: TimeRangeType
) -> None:
    duck, ch, base = both
    lo, hi = (base + 5, base + 50) if range_type is TimeRangeType.TRACE_ID else (base + 10.5, base + 30.5)

    def pages(store: Store) -> tuple[list[tuple[str, float]], list[int]]:
        seen: list[tuple[str, float]] = []
        processed: list[int] = []
        after = None
        while True:
            page = store.find_traces(TraceQuery(lo, hi, range_type, parse(expression), limit=7, after=after))
            seen += [(h.trace_id, round(h.sort_time, 6)) for h in page.hits]
            processed.append(page.processed)
            if not page.more:
                return seen, processed
            after = (page.hits[-1].sort_time, page.hits[-1].trace_id)

    expected = pages(duck)
    assert pages(ch) == expected
    if expression == "":
        assert len(expected[0]) > 10  # the window holds data: the comparison is not vacuous


def test_config_writes_are_atomic_across_servers(url: str) -> None:
    """Two store instances stand for two servers: the cross-server lock keeps limits exact."""
    import threading

    from fluoro.store.api import AlreadyExists, LimitExceeded, RuleRecord

    stores = [open_store(url), open_store(url)]
    try:
        configs = [s.config_store() for s in stores]  # type: ignore[attr-defined]
        created: list[str] = []
        refused: list[str] = []
        granted: list[int] = []

        def work(i: int) -> None:
            config = configs[i % 2]  # each "server" has its own process lock: only the DDL lock serializes
            try:
                config.create_rule(RuleRecord(f"r{i % 6}", {"Priority": i}, 1.0, 1.0), max_rules=4)
                created.append(f"r{i % 6}")
            except (AlreadyExists, LimitExceeded) as exc:
                refused.append(type(exc).__name__)
            granted.append(config.lease_quota("shared", f"{i:024d}", 4, 10, 4.0, now=0.0, expires=20.0))

        threads = [threading.Thread(target=work, args=(i,)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(created) == 4 and len(set(created)) == 4 and len(refused) == 8
        assert sorted(r.name for r in configs[1].list_rules()) == sorted(created)
        assert sum(granted) == 10  # never over-allocated, every unit handed out
    finally:
        for s in stores:
            s.close()


def test_graph_rollup_of_piecewise_traces_equals_the_trace_path(url: str) -> None:
    """The DuckDB rollup test's scenario on ClickHouse: generations never double count."""
    from fluoro.query.graph_service import GraphQueries
    from fluoro.query.rollup import GraphRollup

    from ..graph_docs import lambda_trace
    from ..query.test_graph import T0, from_traces, normalize, write

    store = open_store(url)
    try:
        assert isinstance(store, ClickHouseStore)
        store._graph.settle = 1  # seconds; the test waits them out instead of the default 3
        rng = random.Random(4)
        traces = [
            lambda_trace(rng, T0 + rng.random() * 170, rng.choice([200, 200, 404, 429, 502]))
            for _ in range(25)
        ]
        pieces = [doc for docs in traces for doc in docs]
        rng.shuffle(pieces)
        rollup = GraphRollup(store, batch_traces=7)
        step = max(1, len(pieces) // 4)
        for i in range(0, len(pieces), step):  # arrivals spread over several rollup cycles
            write(store, pieces[i : i + step])  # type: ignore[arg-type]
            time.sleep(2.1)  # past the settle window, measured by ClickHouse's whole seconds
            assert rollup.run_once() > 0
        assert GraphRollup(store).run_once() == 0  # nothing settled since: nothing recomputed
        complete = [[d for d in docs if not d.get("in_progress")] for docs in traces]
        expected = normalize(from_traces(complete))
        got = GraphQueries(store).get_service_graph({"StartTime": T0, "EndTime": T0 + 180})["Services"]
        assert normalize(got) == expected
        assert len(expected) >= 4
    finally:
        store.close()


def test_clickhouse_pushdown_equals_python_evaluator(clickhouse: ClickHouseSandbox) -> None:
    """The filter property test of the DuckDB compiler, on the ClickHouse dialect."""
    import json as _json

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from fluoro.ingest import ingest
    from fluoro.query.assemble import assemble
    from fluoro.query.filters.ast import feature, walk
    from fluoro.query.filters.evaluate import matches
    from fluoro.store.api import SegmentBatch
    from fluoro.store.columns import ArrowBatch

    from ..query.test_filter_pushdown_property import BASE, expressions, traces

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.data())
    def check(data: Any) -> None:
        all_docs = [data.draw(traces(i), label=f"trace {i}") for i in range(data.draw(st.integers(1, 6)))]
        exprs = data.draw(st.lists(expressions, min_size=1, max_size=6), label="expressions")
        store = open_store(clickhouse.url(f"fluoro_prop_{uuid.uuid4().hex[:12]}"))
        try:
            supported = store.capabilities().filter_nodes
            batch = SegmentBatch()
            for docs in all_docs:
                for doc in docs:
                    ingest(batch, _json.dumps(doc).encode(), 1.0)
            store.write(ArrowBatch.from_batch(batch))
            trace_ids = sorted({d["trace_id"] for docs in all_docs for d in docs})
            stored = store.documents(trace_ids)
            assembled = {t: assemble(t, [s for s in stored if s.trace_id == t]) for t in trace_ids}
            for expr in exprs:
                assert all(feature(n) in supported for n in walk(expr))
                page = store.find_traces(TraceQuery(BASE, BASE + 100, filter=expr, limit=1000))
                in_sql = {h.trace_id for h in page.hits}
                in_python = {t for t, trace in assembled.items() if matches(expr, trace)}
                assert in_sql == in_python, expr
        finally:
            assert isinstance(store, ClickHouseStore)
            store._execute(f"DROP DATABASE IF EXISTS {store.config.database}", [])
            store.close()

    check()

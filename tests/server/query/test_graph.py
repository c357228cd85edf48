"""Graph statistics against the published GetServiceGraph outputs, and the rollup against the trace path."""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from typing import Any, Iterable

import pytest

from fluoro.ingest import ingest
from fluoro.query.assemble import assemble
from fluoro.query.graph import GraphBuilder, bucket_ms
from fluoro.query.graph_service import GraphQueries
from fluoro.query.nodes import trace_graph
from fluoro.query.rollup import GraphRollup
from fluoro.query.service import InvalidQuery
from fluoro.store import open_store
from fluoro.store.api import FACT_ATTR, SegmentBatch, StoredDocument
from fluoro.store.columns import ArrowBatch
from fluoro.store.duckdb import DuckDBStore

from ..graph_docs import lambda_trace
from ..helpers import load_fixture

T0 = 1528317567.0


def normalize(services: list[dict[str, Any]], times: bool = False) -> dict[tuple[str, str | None], Any]:
    """Services keyed by (Name, Type), edges by their target's (Name, Type), histograms as counters."""
    names = {s["ReferenceId"]: (s["Name"], s.get("Type")) for s in services}

    def hist(entries: list[dict[str, Any]]) -> Counter[float]:
        out: Counter[float] = Counter()
        for e in entries:
            out[round(e["Value"], 3)] += e["Count"]
        return out

    def stats(s: dict[str, Any]) -> dict[str, Any]:
        return {**s, "TotalResponseTime": round(s["TotalResponseTime"], 6)}

    out = {}
    for s in services:
        node = {
            k: v for k, v in s.items() if k not in ("ReferenceId", "Edges") and (times or "Time" not in k)
        }
        for key in ("DurationHistogram", "ResponseTimeHistogram"):
            if key in node:
                node[key] = hist(node[key])
        if "SummaryStatistics" in node:
            node["SummaryStatistics"] = stats(node["SummaryStatistics"])
        edges = {}
        for e in s["Edges"]:
            edge = {k: v for k, v in e.items() if k != "ReferenceId" and (times or "Time" not in k)}
            edge["SummaryStatistics"] = stats(edge["SummaryStatistics"])
            for key in ("ResponseTimeHistogram", "ReceivedEventAgeHistogram"):
                if key in edge:
                    edge[key] = hist(edge[key])
            edges[(names[e["ReferenceId"]], e.get("EdgeType"))] = edge
        node["Edges"] = edges
        out[(s["Name"], s.get("Type"))] = node
    return out


def _id(rng: random.Random) -> str:
    return f"{rng.getrandbits(64):016x}"


def devguide_traces() -> list[list[dict[str, Any]]]:
    """Four requests shaped after the published devguide graph (durations, one 4xx, two DynamoDB and SNS calls)."""
    rng = random.Random(7)
    table = "awseb-e-dixzws4s9p-stack-StartupSignupsTable-4IMSMHAYX2BA"
    topic = "arn:aws:sns:us-west-2:123456789012:awseb-e-dixzws4s9p-stack-NotificationTopic-1"
    plans = [
        (0.005, 404, None),
        (0.015, 200, None),
        (0.157, 200, (0.076, 0.049)),
        (0.096, 200, (0.044, 0.076)),
    ]
    traces = []
    for i, (duration, status, calls) in enumerate(plans):
        start = T0 + 5 * i + 0.25
        tid = f"1-{int(start):08x}-{rng.getrandbits(96):024x}"
        doc: dict[str, Any] = {
            "id": _id(rng), "trace_id": tid, "name": "xray-sample.elasticbeanstalk.com",
            "origin": "AWS::EC2::Instance", "start_time": start, "end_time": start + duration,
            "http": {"request": {"method": "POST", "url": "http://xray-sample.elasticbeanstalk.com/signup"},
                     "response": {"status": status}},
            "error": status == 404,
        }  # fmt: skip
        if calls:
            ddb, sns = calls
            doc["subsegments"] = [
                {"id": _id(rng), "name": "DynamoDB", "namespace": "aws", "start_time": start + 0.001,
                 "end_time": start + 0.001 + ddb, "aws": {"operation": "PutItem", "table_name": table},
                 "http": {"response": {"status": 200}}},
                {"id": _id(rng), "name": "SNS", "namespace": "aws", "start_time": start + 0.002,
                 "end_time": start + 0.002 + sns, "aws": {"operation": "Publish", "topic_arn": topic},
                 "http": {"response": {"status": 200}}},
            ]  # fmt: skip
        traces.append([doc])
    return traces


def stored(docs: Iterable[dict[str, Any]], received: float = 1.0) -> list[StoredDocument]:
    return [StoredDocument(d["trace_id"], d["id"], d.get("in_progress") is True, received, json.dumps(d).encode())
            for d in docs]  # fmt: skip


def from_traces(traces: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    builder = GraphBuilder()
    for docs in traces:
        builder.add_trace(trace_graph(assemble(docs[0]["trace_id"], stored(docs)).segments))
    return builder.services()


def write(store: DuckDBStore, docs: Iterable[dict[str, Any]], received: float = T0) -> None:
    batch = SegmentBatch()
    for doc in docs:
        ingest(batch, json.dumps(doc).encode(), received)
    store.write(ArrowBatch.from_batch(batch))


def lambda_store(seed: int, traces: int) -> DuckDBStore:
    """A memory store holding ``traces`` successful Lambda traces, one write each."""
    rng = random.Random(seed)
    store = open_store("memory")
    assert isinstance(store, DuckDBStore)
    for i in range(traces):
        write(store, lambda_trace(rng, T0 + i, 200))
    return store


def test_devguide_service_graph_from_traces_matches_published_output() -> None:
    published = load_fixture("service-graph", "devguide-client-ec2-dynamodb-sns.json")["Services"]
    ours = from_traces(devguide_traces())
    assert normalize(ours) == normalize(published)
    assert [sorted(s) for s in sorted(ours, key=lambda s: s["Name"] + s["Type"])] == [
        sorted(s) for s in sorted(published, key=lambda s: s["Name"] + s["Type"])
    ]
    for service in ours:
        assert (
            service["StartTime"] == int(service["StartTime"]) and service["EndTime"] >= service["StartTime"]
        )


def test_devguide_service_graph_through_the_rollup_matches_published_output() -> None:
    published = load_fixture("service-graph", "devguide-client-ec2-dynamodb-sns.json")["Services"]
    store = open_store("memory")
    assert isinstance(store, DuckDBStore)
    for docs in devguide_traces():
        write(store, docs)
    GraphRollup(store).run_once()
    out = GraphQueries(store).get_service_graph({"StartTime": T0, "EndTime": T0 + 60})
    assert normalize(out["Services"]) == normalize(published)
    assert out["ContainsOldGroupVersions"] is False


def test_awscli_scorekeep_edge_statistics() -> None:
    published = load_fixture("service-graph", "awscli-scorekeep-partial.json")
    (edge,) = published["Services"][0]["Edges"]
    rng = random.Random(3)
    traces = []
    values = [e["Value"] for e in edge["ResponseTimeHistogram"] for _ in range(e["Count"])]
    for i, value in enumerate(values):
        start = 1568835392.0 + 3 * i + 0.1
        tid = f"1-{int(start):08x}-{rng.getrandbits(96):024x}"
        traces.append([{
            "id": _id(rng), "trace_id": tid, "name": "Scorekeep", "origin": "AWS::ElasticBeanstalk::Environment",
            "start_time": start, "end_time": start + 0.05, "http": {"response": {"status": 200}},
            "subsegments": [{"id": _id(rng), "name": "DynamoDB", "namespace": "aws", "start_time": start + 0.01,
                             "end_time": start + 0.01 + value, "aws": {"table_name": "scorekeep-state"},
                             "http": {"response": {"status": 200}}}],
        }])  # fmt: skip
    ours = normalize(from_traces(traces))
    root = ours[("Scorekeep", "AWS::ElasticBeanstalk::Environment")]
    assert root["Root"] is True and root["State"] == "active"
    (ours_edge,) = root["Edges"].values()
    expected = normalize([{**published["Services"][0], "Edges": [{**edge, "ReferenceId": 0}]}])
    (published_edge,) = expected[("Scorekeep", "AWS::ElasticBeanstalk::Environment")]["Edges"].values()
    assert ours_edge == published_edge


def test_histogram_buckets() -> None:
    assert [bucket_ms(v) for v in (0.0004, 0.005, 0.157, 0.9994, 1.2345, 12.345, 123.45)] == [
        0, 5, 157, 999, 1230, 12300, 123000]  # fmt: skip


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rollup_of_piecewise_out_of_order_traces_equals_the_trace_path(seed: int) -> None:
    rng = random.Random(seed)
    traces = [lambda_trace(rng, T0 + rng.random() * 170, rng.choice([200, 200, 200, 404, 429, 502]))
              for _ in range(40)]  # fmt: skip
    pieces = [(doc, rng.random()) for docs in traces for doc in docs]
    rng.shuffle(pieces)
    store = open_store("memory")
    assert isinstance(store, DuckDBStore)
    rollup = GraphRollup(store, batch_traces=7)
    step = max(1, len(pieces) // 9)
    for i in range(0, len(pieces), step):  # arrivals spread over many rollup cycles
        write(store, [doc for doc, _ in pieces[i : i + step]])
        if rng.random() < 0.7:
            rollup.run_once()
    rollup.run_once()
    assert rollup.run_once() == 0  # nothing new: nothing recomputed
    complete = [[d for d in docs if not d.get("in_progress")] for docs in traces]
    expected = normalize(from_traces(complete))
    got = GraphQueries(store).get_service_graph({"StartTime": T0, "EndTime": T0 + 180})["Services"]
    assert normalize(got) == expected
    nodes = {key for key in expected}
    assert ("orders", "AWS::DynamoDB::Table") in nodes and ("receipts", "AWS::S3::Bucket") in nodes
    assert (
        sum(
            s["SummaryStatistics"]["TotalCount"]
            for s in got
            if s["Name"] == "shop/prod" and s["Type"] != "client"
        )
        == 40
    )


def test_rollup_survives_a_reopen_and_resumes_from_its_cursor(tmp_path: Any) -> None:
    path = str(tmp_path / "t.duckdb")
    rng = random.Random(5)
    first, second = lambda_trace(rng, T0 + 10, 200), lambda_trace(rng, T0 + 20, 502)
    store = open_store(path)
    write(store, first)
    assert GraphRollup(store).run_once() == 1
    store.close()
    store = open_store(path)
    write(store, second)
    assert GraphRollup(store).run_once() == 1  # only the new trace
    out = GraphQueries(store).get_service_graph({"StartTime": T0, "EndTime": T0 + 60})  # type: ignore[arg-type]
    stage = [s for s in out["Services"] if s["Name"] == "shop/prod" and s["Type"] == "AWS::ApiGateway::Stage"]
    assert stage[0]["SummaryStatistics"]["TotalCount"] == 2
    assert stage[0]["SummaryStatistics"]["FaultStatistics"]["TotalCount"] == 1
    store.close()


def test_time_series_buckets_by_period_and_selects_entities() -> None:
    rng = random.Random(11)
    store = open_store("memory")
    assert isinstance(store, DuckDBStore)
    for i in range(10):  # one request every 30 s for 5 minutes
        write(store, lambda_trace(rng, T0 - (T0 % 300) + 30 * i + 1, 200))
    GraphRollup(store).run_once()
    queries = GraphQueries(store)
    window = {"StartTime": T0 - (T0 % 300), "EndTime": T0 - (T0 % 300) + 300}
    edges = queries.get_time_series_service_statistics({**window, "Period": 60})[
        "TimeSeriesServiceStatistics"
    ]
    assert [e["EdgeSummaryStatistics"]["TotalCount"] for e in edges] == [2, 2, 2, 2, 2]
    five = queries.get_time_series_service_statistics({**window, "Period": 300})[
        "TimeSeriesServiceStatistics"
    ]
    assert len(five) == 1 and five[0]["EdgeSummaryStatistics"]["TotalCount"] == 10
    table = queries.get_time_series_service_statistics(
        {
            **window,
            "Period": 300,
            "EntitySelectorExpression": 'id(name: "orders", type: "AWS::DynamoDB::Table")',
        }
    )
    assert "ServiceSummaryStatistics" in table["TimeSeriesServiceStatistics"][0]
    assert table["TimeSeriesServiceStatistics"][0]["ServiceSummaryStatistics"]["TotalCount"] == 10
    edge = queries.get_time_series_service_statistics(
        {**window, "Period": 300, "EntitySelectorExpression": 'edge("shop/prod", "orders")'}
    )
    assert edge["TimeSeriesServiceStatistics"][0]["EdgeSummaryStatistics"]["TotalCount"] == 10
    services = queries.get_time_series_service_statistics(
        {**window, "Period": 300, "EntitySelectorExpression": 'service("orders")'}
    )
    # orders is three nodes: AWS::Lambda, AWS::Lambda::Function and the DynamoDB table.
    assert services["TimeSeriesServiceStatistics"][0]["ServiceSummaryStatistics"]["TotalCount"] == 30


def test_group_filter_restricts_the_traces() -> None:
    rng = random.Random(13)
    store = open_store("memory")
    assert isinstance(store, DuckDBStore)
    for i, status in enumerate([200, 200, 502, 200, 503]):
        write(store, lambda_trace(rng, T0 + 10 * i, status))
    GraphRollup(store).run_once()
    queries = GraphQueries(store)
    window = {"StartTime": T0 - 60, "EndTime": T0 + 120}
    everything = by_type(queries.get_service_graph(window)["Services"])
    faults = by_type(queries.get_service_graph(window, group_filter="fault")["Services"])
    assert everything["AWS::ApiGateway::Stage"]["SummaryStatistics"]["TotalCount"] == 5
    assert faults["AWS::ApiGateway::Stage"]["SummaryStatistics"]["TotalCount"] == 2
    assert faults["AWS::ApiGateway::Stage"]["SummaryStatistics"]["FaultStatistics"]["TotalCount"] == 2
    series = queries.get_time_series_service_statistics({**window, "Period": 300}, group_filter="fault")
    assert sum(e["EdgeSummaryStatistics"]["TotalCount"] for e in series["TimeSeriesServiceStatistics"]) == 2
    with pytest.raises(InvalidQuery, match="filter expression"):
        queries.get_service_graph(window, group_filter="responsetime >")


def test_retention_removes_graph_rows() -> None:
    rng = random.Random(17)
    store = open_store("memory")
    assert isinstance(store, DuckDBStore)
    write(store, lambda_trace(rng, T0, 200))
    GraphRollup(store).run_once()
    assert store.graph_rows(T0 - 60, T0 + 60)
    store.delete_before(T0 + 7200)
    assert store.graph_rows(T0 - 60, T0 + 60) == []


def by_type(services: list[dict[str, Any]]) -> dict[str | None, dict[str, Any]]:
    return {s.get("Type"): s for s in services}


def test_rollup_stopped_mid_cycle_resumes_after_the_last_finished_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = lambda_store(seed=19, traces=5)  # one write, one position, per trace
    rollup = GraphRollup(store, batch_traces=2)
    original = store.graph_replace

    def replace_then_stop(rows: Any, cursor: int, facts: Any = None) -> None:
        original(rows, cursor, facts)
        rollup._stop.set()

    monkeypatch.setattr(store, "graph_replace", replace_then_stop)
    assert rollup.run_once() == 2
    monkeypatch.undo()
    assert GraphRollup(store, batch_traces=2).run_once() == 3  # the three not done, not all five
    out = GraphQueries(store).get_service_graph({"StartTime": T0 - 60, "EndTime": T0 + 60})
    assert by_type(out["Services"])["AWS::ApiGateway::Stage"]["SummaryStatistics"]["TotalCount"] == 5


def test_rollup_computes_in_small_slices_and_writes_in_larger_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    store = lambda_store(seed=23, traces=7)  # one write, one position, per trace
    written: list[int] = []
    original = store.graph_replace

    def counting(rows: Any, cursor: int, facts: Any = None) -> None:
        written.append(len(rows))
        original(rows, cursor, facts)

    monkeypatch.setattr(store, "graph_replace", counting)
    rollup = GraphRollup(store, batch_traces=4, compute_traces=2)
    assert rollup.run_once() == 7
    assert written == [4, 3]  # slices of 2 traces, written 4 at a time, the rest at the end
    assert rollup.run_once() == 0
    out = GraphQueries(store).get_service_graph({"StartTime": T0 - 60, "EndTime": T0 + 60})
    assert by_type(out["Services"])["AWS::ApiGateway::Stage"]["SummaryStatistics"]["TotalCount"] == 7


def test_rollup_stopped_before_a_batch_is_written_does_it_again(monkeypatch: pytest.MonkeyPatch) -> None:
    store = lambda_store(seed=31, traces=5)  # one write, one position, per trace
    rollup = GraphRollup(store, batch_traces=4, compute_traces=2)
    original = store.documents

    def read_then_stop(trace_ids: Any) -> Any:
        rollup._stop.set()  # after the first slice is computed, before its batch is full
        return original(trace_ids)

    monkeypatch.setattr(store, "documents", read_then_stop)
    assert rollup.run_once() == 0
    monkeypatch.undo()
    assert store.graph_rows(T0 - 60, T0 + 60) == []
    assert GraphRollup(store, batch_traces=4, compute_traces=2).run_once() == 5
    out = GraphQueries(store).get_service_graph({"StartTime": T0 - 60, "EndTime": T0 + 60})
    assert by_type(out["Services"])["AWS::ApiGateway::Stage"]["SummaryStatistics"]["TotalCount"] == 5


def test_span_link_without_names_is_resolved_through_the_linked_trace() -> None:
    rng = random.Random(29)
    store = open_store("memory")
    assert isinstance(store, DuckDBStore)
    producer_tid, consumer_tid = (
        f"1-{int(T0):08x}-{rng.getrandbits(96):024x}",
        f"1-{int(T0):08x}-{rng.getrandbits(96):024x}",
    )
    send = _id(rng)
    producer = {"id": _id(rng), "trace_id": producer_tid, "name": "orders-api", "start_time": T0 + 1, "end_time": T0 + 2,
                "subsegments": [{"id": send, "name": "SQS", "namespace": "aws", "start_time": T0 + 1.1,
                                 "end_time": T0 + 1.2, "aws": {"queue_url": "https://sqs/1/jobs"}}]}  # fmt: skip
    # An OpenTelemetry-style span link: no reserved attributes, so no names and no reference type.
    consumer = {"id": _id(rng), "trace_id": consumer_tid, "name": "worker", "origin": "AWS::Lambda",
                "start_time": T0 + 3, "end_time": T0 + 4, "links": [{"trace_id": producer_tid, "id": send}]}  # fmt: skip
    write(store, [producer])
    write(store, [consumer])
    GraphRollup(store).run_once()
    services = GraphQueries(store).get_service_graph({"StartTime": T0 - 60, "EndTime": T0 + 60})["Services"]
    names = {s["ReferenceId"]: (s["Name"], s.get("Type")) for s in services}
    links = [
        (s["Name"], names[e["ReferenceId"]])
        for s in services
        for e in s["Edges"]
        if e.get("EdgeType") == "link"
    ]
    assert links == [("orders-api", ("worker", "AWS::Lambda"))]
    assert (
        trace_graph(assemble(consumer_tid, stored([consumer])).segments).edges[-1].edge_type is None
    )  # no resolver


def test_a_trace_that_fails_to_roll_up_does_not_stall_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    import fluoro.query.rollup as rollup_module

    rng = random.Random(31)
    store = open_store("memory")
    assert isinstance(store, DuckDBStore)
    traces = [lambda_trace(rng, T0 + i, 200) for i in range(3)]
    for docs in traces:
        write(store, docs)
    poison = traces[1][0]["trace_id"]
    real = rollup_module.trace_outputs

    def failing(trace_id: str, *args: Any) -> Any:
        if trace_id == poison:
            raise RuntimeError("unexpected document")
        return real(trace_id, *args)

    monkeypatch.setattr(rollup_module, "trace_outputs", failing)
    rollup = GraphRollup(store)
    assert rollup.run_once() == 3
    assert rollup.run_once() == 0  # the cursor moved on
    out = GraphQueries(store).get_service_graph({"StartTime": T0 - 60, "EndTime": T0 + 60})
    assert by_type(out["Services"])["AWS::ApiGateway::Stage"]["SummaryStatistics"]["TotalCount"] == 2


@pytest.mark.parametrize(
    ("old_key", "old_facts"),
    [("graph_cursor", "TRUE"), ("graph_cursor_v2", f"kind = {FACT_ATTR}")],
    ids=["before node facts", "before attribute facts"],
)
def test_a_file_rolled_up_before_its_facts_existed_is_rolled_up_again_without_double_counting(
    old_key: str, old_facts: str
) -> None:
    """The cursor key changes with what node facts hold: an older file starts over once, idempotently."""
    store = lambda_store(seed=37, traces=3)  # one write, one position, per trace
    assert GraphRollup(store).run_once() == 3
    before = GraphQueries(store).get_service_graph({"StartTime": T0 - 60, "EndTime": T0 + 60})
    facts = store._db.execute("SELECT count(*) FROM trace_nodes").fetchone()
    # What such a file looks like: the old cursor key, graph rows, the node facts of then.
    store._db.execute(f"UPDATE meta SET key = '{old_key}' WHERE key = 'graph_cursor_v3'")
    store._db.execute(f"DELETE FROM trace_nodes WHERE {old_facts}")
    assert store._db.execute("SELECT count(*) FROM trace_nodes").fetchone() < facts  # type: ignore[operator]
    assert store.graph_cursor() == -1
    assert GraphRollup(store).run_once() == 3
    after = GraphQueries(store).get_service_graph({"StartTime": T0 - 60, "EndTime": T0 + 60})
    assert after == before
    assert store._db.execute("SELECT count(DISTINCT trace_key) FROM trace_nodes").fetchone() == (3,)
    assert store._db.execute("SELECT count(*) FROM trace_nodes").fetchone() == facts


def test_a_backlog_is_rolled_up_a_span_at_a_time_to_the_same_graph() -> None:
    """``graph_changes`` with a limit lists a span of the backlog (every trace written in it);
    the rollup walks the spans and ends where one that took the backlog at once does."""
    stores = [lambda_store(seed=43, traces=60), lambda_store(seed=43, traces=60)]
    try:
        for store in stores:  # each trace written again later: it must come back in a later span
            rng = random.Random(44)
            write(store, lambda_trace(rng, T0 + 1, 200), received=T0 + 5)
        everything = stores[0].graph_changes(-1)
        span = stores[0].graph_changes(-1, limit=32 * 10)
        assert 0 < len(span) < len(everything)
        last = span[-1][1]
        assert {t for t, p in everything if p <= last} <= {t for t, _ in span} <= {t for t, _ in everything}
        walked = GraphRollup(stores[0], span_traces=32 * 10)
        assert walked.run_once() > len(span)
        assert GraphRollup(stores[1]).run_once() == len(everything)
        window = {"StartTime": T0 - 60, "EndTime": T0 + 60}
        assert GraphQueries(stores[0]).get_service_graph(window) == GraphQueries(stores[1]).get_service_graph(window)
        assert stores[0].graph_cursor() == stores[1].graph_cursor()
        assert walked.run_once() == 0
    finally:
        for store in stores:
            store.close()


def test_the_background_rollup_pauses_while_the_host_is_saturated() -> None:
    """Paced cycles yield to a saturated host and resume where they left off; ``run_once()``
    (tests, benchmarks) does not ask."""
    rng = random.Random(11)
    store = open_store("memory")
    assert isinstance(store, DuckDBStore)
    busy = [True]
    rollup = GraphRollup(store, compute_traces=1, batch_traces=1, max_busy=1.0, host_busy=lambda: busy[0])
    for i in range(3):
        write(store, lambda_trace(rng, T0 + 10 * i, 200))
    assert rollup.run_once(paced=True) == 0
    busy[0] = False
    assert rollup.run_once(paced=True) == 3
    write(store, lambda_trace(rng, T0 + 40, 200))
    busy[0] = True
    assert rollup.run_once() == 1  # unpaced: not asked
    rollup.interval = 0.01
    rollup.start()
    try:
        write(store, lambda_trace(rng, T0 + 50, 200))
        time.sleep(0.3)
        assert rollup.traces_rolled == 4  # the background loop waited
        busy[0] = False
        deadline = time.monotonic() + 10
        while rollup.traces_rolled < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert rollup.traces_rolled == 5
    finally:
        rollup.stop()


def test_a_host_that_stays_saturated_still_gets_its_map() -> None:
    """The pause is bounded: after ``max_pause`` seconds the rollup runs for ``pass_for``."""
    rng = random.Random(12)
    store = open_store("memory")
    assert isinstance(store, DuckDBStore)
    rollup = GraphRollup(store, interval=0.01, max_busy=0.5, host_busy=lambda: True, max_pause=0.3, pass_for=0.2)
    write(store, lambda_trace(rng, T0, 200))
    started = time.monotonic()
    rollup.start()
    try:
        deadline = started + 10
        while rollup.traces_rolled < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert rollup.traces_rolled == 1
        assert time.monotonic() - started >= 0.3  # not before the pause ran out
    finally:
        rollup.stop()

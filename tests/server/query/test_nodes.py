"""Graph identity (nodes, edges, what each counts) on the real traces in the fixtures."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fluoro.query.assemble import assemble
from fluoro.query.nodes import CLIENT, LINK, NodeKey, called_node, trace_graph
from fluoro.store.api import StoredDocument

from ..graph_docs import fixture_traces

ACCOUNT = "263792328682"


def graph_of(trace_id: str, docs: list[dict[str, Any]]) -> Any:
    stored = [StoredDocument(trace_id, d["id"], False, 1.0, json.dumps(d).encode()) for d in docs]
    return trace_graph(assemble(trace_id, stored).segments)


def edge_set(graph: Any) -> set[tuple[tuple[str, str | None], tuple[str, str | None], str | None]]:
    return {
        ((e.source.name, e.source.type), (e.target.name, e.target.type), e.edge_type) for e in graph.edges
    }


def test_api_gateway_lambda_dynamodb_and_lambda_invoke() -> None:
    ((trace_id, docs),) = fixture_traces("osp7-apigw-lambda-dynamodb-and-lambda-invoke.json")
    graph = graph_of(trace_id, docs)
    stage = ("dev-todo-list-app/dev", "AWS::ApiGateway::Stage")
    post_l, post_f = (
        ("todo-list-app-dev-postTask", "AWS::Lambda"),
        ("todo-list-app-dev-postTask", "AWS::Lambda::Function"),
    )
    send_l = ("todo-list-app-dev-sendNotification", "AWS::Lambda")
    send_f = ("todo-list-app-dev-sendNotification", "AWS::Lambda::Function")
    table = ("todo-list-tasks", "AWS::DynamoDB::Table")
    assert edge_set(graph) == {
        (("dev-todo-list-app/dev", CLIENT), stage, None),
        (stage, post_l, None),
        (post_l, post_f, None),
        (post_f, send_l, None),
        (send_l, send_f, None),
        (post_f, table, None),
    }
    assert {(k.name, k.type) for k in graph.node_keys()} == {
        ("dev-todo-list-app/dev", CLIENT), stage, post_l, post_f, send_l, send_f, table}  # fmt: skip
    assert graph.roots == [NodeKey(*stage)]
    by_pair = {((e.source.name, e.source.type), (e.target.name, e.target.type)): e for e in graph.edges}
    # Caller's view: the stage's Lambda subsegment (1.442 s, 201), not the callee's segment.
    assert by_pair[(stage, post_l)].request.entity_id == "4c17ecc1b6cd296a"
    assert by_pair[(stage, post_l)].request.response_time == pytest.approx(1.442, abs=1e-3)
    # AWS::Lambda -> AWS::Lambda::Function has no subsegment between them: the callee segment counts.
    assert by_pair[(post_l, post_f)].request.entity_id == "03e476fc59b9eecd"
    assert by_pair[(post_f, send_l)].request.entity_id == "72196dbd1971fbad"
    assert by_pair[(post_f, table)].request.entity_id == "b65ecbebf0c80be7"
    assert by_pair[(post_f, send_l)].source.account == ACCOUNT
    inferred = [s for s in graph.nodes if s.inferred]
    assert [(s.node.name, s.node.type) for s in inferred] == [table]
    assert {s.request.outcome for s in graph.nodes} == {"ok"}


@pytest.mark.parametrize(
    "name", ["osp7-apigw-lambda-no-sdk-warm.json", "osp7-apigw-lambda-no-sdk-coldstart.json"]
)
def test_api_gateway_lambda_without_sdk(name: str) -> None:
    ((trace_id, docs),) = fixture_traces(name)
    graph = graph_of(trace_id, docs)
    stage = ("dev-todo-list-app/dev", "AWS::ApiGateway::Stage")
    post_l, post_f = (
        ("todo-list-app-dev-postTask", "AWS::Lambda"),
        ("todo-list-app-dev-postTask", "AWS::Lambda::Function"),
    )
    assert edge_set(graph) == {(("dev-todo-list-app/dev", CLIENT), stage, None), (stage, post_l, None),
                               (post_l, post_f, None)}  # fmt: skip
    assert not any(s.inferred for s in graph.nodes)


def test_direct_lambda_invocations_enter_through_a_client_node() -> None:
    traces = fixture_traces("apm-spot-boto3-lambda-2017.json")
    assert len(traces) == 5
    for trace_id, docs in traces:
        graph = graph_of(trace_id, docs)
        (root,) = graph.roots
        assert root.type == "AWS::Lambda"
        assert edge_set(graph) == {((root.name, CLIENT), (root.name, "AWS::Lambda"), None),
                                   ((root.name, "AWS::Lambda"), (root.name, "AWS::Lambda::Function"), None)}  # fmt: skip


def test_scorekeep_lambda_sns_dynamodb() -> None:
    ((trace_id, docs),) = fixture_traces("devguide-scorekeep-lambda-sns.json")
    graph = graph_of(trace_id, docs)
    scorekeep = ("Scorekeep", "AWS::ElasticBeanstalk::Environment")
    fn_l, fn_f = ("random-name", "AWS::Lambda"), ("random-name", "AWS::Lambda::Function")
    assert edge_set(graph) == {
        (("Scorekeep", CLIENT), scorekeep, None),
        (scorekeep, fn_l, None),
        (fn_l, fn_f, None),
        (scorekeep, ("scorekeep-user", "AWS::DynamoDB::Table"), None),
        # Published output names the SNS node "SNS" / AWS::SNS although topic_arn is set.
        (fn_f, ("SNS", "AWS::SNS"), None),
    }


def test_span_link_becomes_link_edge_with_event_age() -> None:
    ((trace_id, docs),) = fixture_traces("iatk-lambda-span-links.json")
    graph = graph_of(trace_id, docs)
    links = [e for e in graph.edges if e.edge_type == LINK]
    assert len(links) == 1
    (link,) = links
    assert (link.source.name, link.source.type) == (
        "xray-stuff-ProducerA-LbbjYUkcchrB",
        "AWS::Lambda::Function",
    )
    assert (link.target.name, link.target.type) == ("xray-stuff-ConsumerA-kWsiXtT2gOdW", "AWS::Lambda")
    assert link.event_age == pytest.approx(1699480920.181 - 1699480920.1662896, abs=1e-6)


def test_function_segment_whose_lambda_segment_is_missing_is_the_entry() -> None:
    ((trace_id, docs),) = fixture_traces("iatk-lambda-eventbridge-putevents.json")
    graph = graph_of(trace_id, docs)
    fn = "sam-ts-app-z-NewOrderConsumerFunction-Qqv4wKsAxhOi"
    assert edge_set(graph) == {((fn, CLIENT), (fn, "AWS::Lambda::Function"), None),
                               ((fn, "AWS::Lambda::Function"), ("Events", "AWS::Events"), None)}  # fmt: skip


def test_broken_trace_keeps_an_inferred_node_until_the_callee_reports() -> None:
    tid = "1-5f187253-6a106696d56b1f4ef9eba2ed"
    call = {
        "id": "b" * 16,
        "name": "api.example.com",
        "namespace": "remote",
        "start_time": 10.0,
        "end_time": 10.5,
        "http": {"request": {"traced": True}, "response": {"status": 503}},
    }
    caller = {
        "id": "a" * 16,
        "trace_id": tid,
        "name": "front",
        "start_time": 9.9,
        "end_time": 10.6,
        "subsegments": [call],
    }
    broken = graph_of(tid, [caller])
    assert edge_set(broken) == {(("front", CLIENT), ("front", None), None),
                                (("front", None), ("api.example.com", "remote"), None)}  # fmt: skip
    (remote,) = [e for e in broken.edges if e.target.type == "remote"]
    assert remote.request.outcome == "fault"
    callee = {
        "id": "c" * 16,
        "trace_id": tid,
        "name": "backend",
        "start_time": 10.1,
        "end_time": 10.4,
        "parent_id": "b" * 16,
    }
    fixed = graph_of(tid, [caller, callee])
    assert edge_set(fixed) == {
        (("front", CLIENT), ("front", None), None),
        (("front", None), ("backend", None), None),
    }
    (edge,) = [e for e in fixed.edges if e.target.name == "backend"]
    assert edge.alias == NodeKey("api.example.com", "remote") and edge.request.entity_id == "b" * 16


@pytest.mark.parametrize(("sub", "expected"), [
    ({"name": "S3", "namespace": "aws", "aws": {"bucket_name": "photos"}}, NodeKey("photos", "AWS::S3::Bucket")),
    ({"name": "SQS", "namespace": "aws", "aws": {"queue_url": "https://sqs.us-east-1.amazonaws.com/1/jobs"}},
     NodeKey("jobs", "AWS::SQS::Queue")),
    ({"name": "Lambda", "namespace": "aws",
      "aws": {"function_name": "arn:aws:lambda:us-east-1:1:function:resize:3"}}, NodeKey("resize", "AWS::Lambda")),
    ({"name": "STS", "namespace": "aws", "aws": {"operation": "GetCallerIdentity"}}, NodeKey("STS", "AWS::STS")),
    ({"name": "db@host", "namespace": "remote", "sql": {"url": "jdbc:x"}}, NodeKey("db@host", "Database::SQL")),
    ({"name": "example.org", "namespace": "remote"}, NodeKey("example.org", "remote")),
])  # fmt: skip
def test_called_node_names(sub: dict[str, Any], expected: NodeKey) -> None:
    assert called_node(sub) == expected


def test_in_progress_segment_is_a_node_but_not_counted() -> None:
    tid = "1-5f187253-6a106696d56b1f4ef9eba2ed"
    doc = {"id": "a" * 16, "trace_id": tid, "name": "slow", "start_time": 10.0, "in_progress": True}
    graph = graph_of(tid, [doc])
    assert {(k.name, k.type) for k in graph.node_keys()} == {("slow", None), ("slow", CLIENT)}
    assert all(s.request.end is None for s in graph.nodes)

"""fluoro's own demo app end to end: start-api on fluoro/demo/app, moto behind the
capacity proxy, a real fluoro server, requests over HTTP, read back with boto3."""

from __future__ import annotations

import time
from typing import Any, Iterator

import pytest

from fluoro.demo.traffic import APP_TEMPLATE, EXPECTED_STATUS, STACK_NAME, STAGE, Sent, plan, send
from fluoro.local.capacity import CapacityProxy
from fluoro.local.resources import MotoServer
from fluoro.local.start_api import LocalApi, LocalApiConfig

from .conftest import TraceReader, by_origin, find, has


@pytest.fixture(scope="module")
def demo(xray: TraceReader) -> Iterator[tuple[TraceReader, list[Sent], float]]:
    moto = MotoServer()
    moto.start()
    proxy = CapacityProxy(moto.endpoint).start()
    api = LocalApi(LocalApiConfig(template=str(APP_TEMPLATE), port=0, stack_name=STACK_NAME,
                                  daemon_address=xray.daemon_address, aws_endpoint=proxy.endpoint)).start_in_thread()
    began = time.time()
    try:
        yield xray, send("%s/%s" % (api.url, STAGE), plan(8)), began
    finally:
        api.stop()
        proxy.stop()
        moto.stop()


def docs_of(xray: TraceReader, sent: Sent) -> list[dict[str, Any]]:
    return xray.trace(sent.trace_id, has("AWS::ApiGateway::Stage", "AWS::Lambda::Function"))


def one(sent: list[Sent], kind: str) -> Sent:
    return next(s for s in sent if s.kind == kind)


def test_every_request_answers_as_planned(demo: tuple[TraceReader, list[Sent], float]) -> None:
    _, sent, _ = demo
    assert [(s.kind, s.status) for s in sent] == [(s.kind, EXPECTED_STATUS[s.kind]) for s in sent]


def test_bad_input_is_an_error_not_a_fault(demo: tuple[TraceReader, list[Sent], float]) -> None:
    xray, sent, _ = demo
    docs = docs_of(xray, one(sent, "bad_input"))
    stage = by_origin(docs, "AWS::ApiGateway::Stage")[0]
    assert stage.get("error") is True and "fault" not in stage and stage["http"]["response"]["status"] == 400
    function = by_origin(docs, "AWS::Lambda::Function")[0]
    validate = find(function, "validate")
    assert validate is not None and validate["annotations"] == {"invalid_field": "email"}
    assert not any(d.get("fault") for d in docs)


def test_the_pricing_bug_is_a_fault_with_its_stack(demo: tuple[TraceReader, list[Sent], float]) -> None:
    xray, sent, _ = demo
    docs = docs_of(xray, one(sent, "enterprise"))
    stage = by_origin(docs, "AWS::ApiGateway::Stage")[0]
    assert stage.get("fault") is True and stage["http"]["response"]["status"] == 500
    price = find(by_origin(docs, "AWS::Lambda::Function")[0], "price_plan")
    assert price is not None and price.get("fault") is True
    exception = price["cause"]["exceptions"][0]
    assert exception["type"] == "KeyError" and "enterprise" in exception["message"]
    assert any(frame["label"] == "price_plan" and frame["path"].endswith("users.py") for frame in exception["stack"])


def test_the_throttled_import_has_the_throttle_flag(demo: tuple[TraceReader, list[Sent], float]) -> None:
    xray, sent, _ = demo
    docs = docs_of(xray, one(sent, "import"))
    stage = by_origin(docs, "AWS::ApiGateway::Stage")[0]
    assert stage.get("throttle") is True and stage.get("error") is True and stage["http"]["response"]["status"] == 429
    imports = find(by_origin(docs, "AWS::Lambda::Function")[0], "import_users")
    assert imports is not None and imports["annotations"]["batch_size"] == 5
    calls = [s for s in imports["subsegments"] if s["name"] == "dynamodb"]
    throttled = calls[-1]
    assert throttled["aws"]["operation"] == "PutItem" and throttled["aws"]["table_name"] == "fluoro-demo-imports"
    assert throttled["cause"]["exceptions"][0]["type"] == "ProvisionedThroughputExceededException"
    assert throttled["http"]["response"]["status"] == 400 and throttled.get("error") is True
    assert throttled.get("throttle") is True and not throttled.get("fault")  # a throttle, not a fault
    assert imports["annotations"]["throttled_after"] == len(calls) - 1


def test_annotations_and_metadata(demo: tuple[TraceReader, list[Sent], float]) -> None:
    xray, sent, _ = demo
    docs = docs_of(xray, one(sent, "create_pro"))
    save = find(by_origin(docs, "AWS::Lambda::Function")[0], "save_user")
    assert save is not None
    assert save["annotations"] == {"plan": "pro", "email_domain": "example.com"}
    assert save["metadata"]["fluoro-demo"]["user"]["monthly"] == 12
    assert find(save, "write_profile_file")["metadata"]["fluoro-demo"]["s3_key"].startswith("users/")  # type: ignore[index]
    names = {s["name"] for s in save["subsegments"]}
    assert {"price_plan", "dynamodb", "write_profile_file"} <= names


def test_filters_select_each_kind_of_failure(demo: tuple[TraceReader, list[Sent], float]) -> None:
    xray, sent, began = demo
    for s in sent:
        docs_of(xray, s)

    def ids(expression: str) -> set[str]:
        pages = xray.client.get_paginator("get_trace_summaries").paginate(
            StartTime=began - 5, EndTime=time.time() + 5, FilterExpression=expression)
        return {t["Id"] for page in pages for t in page["TraceSummaries"]}

    kinds = {s.trace_id: s.kind for s in sent}
    assert {kinds[i] for i in ids("throttle")} == {"import"}
    assert {kinds[i] for i in ids('annotation.plan = "pro"')} == {"create_pro"}
    assert {kinds[i] for i in ids("error")} >= {"bad_input", "import"}
    assert "enterprise" in {kinds[i] for i in ids("fault")}
    assert ids("http.status = 500") == {s.trace_id for s in sent if s.kind == "enterprise"}


def test_service_graph_has_the_apps_nodes_and_edges(demo: tuple[TraceReader, list[Sent], float]) -> None:
    xray, sent, began = demo
    for s in sent:
        docs_of(xray, s)
    deadline = time.monotonic() + 20  # the server rolls traces into the graph every few seconds
    while True:
        services = [svc for page in xray.client.get_paginator("get_service_graph").paginate(
            StartTime=began - 5, EndTime=time.time() + 5) for svc in page["Services"]]
        names = {(s["Name"], s["Type"]) for s in services}
        if ("fluoro-demo-imports", "AWS::DynamoDB::Table") in names and ("fluoro-demo-users", "AWS::DynamoDB::Table") \
                in names or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    by_ref = {s["ReferenceId"]: (s["Name"], s["Type"]) for s in services}
    edges = {(by_ref[s["ReferenceId"]], by_ref[e["ReferenceId"]]) for s in services for e in s.get("Edges", [])}
    stage = ("fluoro-demo/demo", "AWS::ApiGateway::Stage")
    users = ("fluoro-demo-UsersFunction", "AWS::Lambda::Function")
    imports = ("fluoro-demo-ImportFunction", "AWS::Lambda::Function")
    for edge in [(stage, ("fluoro-demo-UsersFunction", "AWS::Lambda")), (stage, ("fluoro-demo-ImportFunction", "AWS::Lambda")),
                 (("fluoro-demo-UsersFunction", "AWS::Lambda"), users),
                 (users, ("fluoro-demo-users", "AWS::DynamoDB::Table")),
                 (users, ("fluoro-demo-user-files", "AWS::S3::Bucket")),
                 (imports, ("fluoro-demo-imports", "AWS::DynamoDB::Table"))]:
        assert edge in edges, (edge, sorted(edges))


@pytest.mark.parametrize("enforce", [False, True])
def test_start_api_throttles_only_with_enforce_capacity(xray: TraceReader, enforce: bool) -> None:
    """moto alone accepts the whole import; ``--enforce-capacity`` gives DynamoDB's throttle."""
    config = LocalApiConfig(template=str(APP_TEMPLATE), port=0, stack_name=STACK_NAME,
                            daemon_address=xray.daemon_address, enforce_capacity=enforce)
    with LocalApi(config).start_in_thread() as api:
        assert any("provisioned write capacity enforced" in line for line in api.describe()) is enforce
        sent = send("%s/%s" % (api.url, STAGE), ["import"])[0]
    assert sent.status == (429 if enforce else 200)

"""A dataset built for the documented filter examples, and what each example must select.

Traces are named by letter; ``EXPECTED`` lists, for every example of the
devguide's filter page (backend.md section 5), exactly the traces it selects,
worked out by hand from the documents below.
"""

from __future__ import annotations

from typing import Any

from ..helpers_docs import new_id, new_trace_id


def _seg(trace_id: str, name: str, start: float, end: float | None, **fields: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": new_id(), "trace_id": trace_id, "name": name, "start_time": start}
    if end is None:
        doc["in_progress"] = True
    else:
        doc["end_time"] = end
    doc.update(fields)
    return doc


def _sub(name: str, start: float, end: float, **fields: Any) -> dict[str, Any]:
    return {"id": new_id(), "name": name, "start_time": start, "end_time": end, **fields}


def _http(status: int, url: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"response": {"status": status}}
    if url:
        out["request"] = {"method": "GET", "url": url}
    return out


def build(b: int) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """(trace letter -> trace id, documents) for traces starting at ``b`` (whole seconds)."""
    ids: dict[str, str] = {}
    docs: list[dict[str, Any]] = []

    def trace(letter: str, offset: int) -> str:
        ids[letter] = new_trace_id(b + offset)
        return ids[letter]

    t = trace("A", 0)
    backend = _sub("backend.example.com", b + 0.5, b + 5.5, namespace="remote", http=_http(200))
    docs.append(_seg(t, "api.example.com", b, b + 6, http=_http(200, "http://api.example.com/api/game/7"),
                     user="alice", annotations={"account": "12345", "gameid": "817DL6VO", "age": 30},
                     subsegments=[backend]))  # fmt: skip

    t = trace("B", 10)
    docs.append(_seg(t, "web", b + 10, b + 10.5, origin="AWS::EC2::Instance",
                     http=_http(200, "http://api.example.com/v2/items"), annotations={"age": 20}))  # fmt: skip

    t = trace("C", 20)
    call = _sub("backend.example.com", b + 21, b + 25, namespace="remote", fault=True, http=_http(500))
    deserialize = _sub("deserialize", b + 22, b + 24, fault=True, cause={"exceptions": [
        {"id": new_id(), "type": "ValueError", "message": "Access Denied for account_id: 1234567890"}]})  # fmt: skip
    docs.append(_seg(t, "api.example.com", b + 20, b + 25.5, fault=True, http=_http(500, "http://example/game/42"),
                     annotations={"account": "12345"}, subsegments=[call]))  # fmt: skip
    docs.append(_seg(t, "backend.example.com", b + 21.1, b + 24.9, parent_id=call["id"], fault=True,
                     http=_http(500), subsegments=[deserialize]))  # fmt: skip

    t = trace("D", 30)
    call = _sub("backend.example.com", b + 30.2, b + 30.8, namespace="remote", error=True, http=_http(404))
    docs.append(_seg(t, "api.example.com", b + 30, b + 31, http=_http(200, "http://web/d"), subsegments=[call]))
    docs.append(_seg(t, "backend.example.com", b + 30.25, b + 30.75, parent_id=call["id"], error=True,
                     http=_http(404)))  # fmt: skip

    t = trace("E", 40)
    dynamo = _sub("DynamoDB", b + 40.1, b + 40.7, namespace="aws", fault=True,
                  aws={"operation": "GetItem", "table_name": "traces"})  # fmt: skip
    docs.append(_seg(t, "Auth", b + 40, b + 41, fault=True, http=_http(503), subsegments=[dynamo],
                     cause={"exceptions": [{"id": new_id(), "type": "Boom", "message": "table down"}]}))  # fmt: skip

    t = trace("F", 50)
    docs.append(_seg(t, "frontend", b + 50, b + 52, http=_http(200, "http://front/x"),
                     subsegments=[_sub("traces", b + 50.1, b + 51.9, namespace="remote")]))  # fmt: skip

    t = trace("G", 60)
    docs.append(_seg(t, "orders", b + 60, b + 61,
                     subsegments=[_sub("DynamoDB", b + 60.05, b + 60.95, namespace="aws", aws={"operation": "Scan"})]))  # fmt: skip

    t = trace("H", 70)
    root = _seg(t, "random-name", b + 70, b + 71, origin="AWS::Lambda", aws={"account_id": "account-id"})
    docs.append(root)
    docs.append(_seg(t, "random-name", b + 70.05, b + 70.95, origin="AWS::Lambda::Function", parent_id=root["id"],
                     error=True, aws={"account_id": "account-id"}))  # fmt: skip

    t = trace("I", 75)
    docs.append(_seg(t, "function-name", b + 75, b + 75.5, origin="AWS::Lambda::Function", error=True, http=_http(400)))

    t = trace("J", 80)
    docs.append(_seg(t, "data-plane", b + 80, b + 80.2, fault=True, http=_http(500)))

    t = trace("K", 110)
    call = _sub("data-plane", b + 110.1, b + 110.3, namespace="remote", fault=True)
    docs.append(_seg(t, "gateway", b + 110, b + 111, http=_http(200), subsegments=[call]))
    docs.append(_seg(t, "data-plane", b + 110.12, b + 110.28, parent_id=call["id"], fault=True))

    t = trace("L", 90)
    docs.append(_seg(t, "web", b + 90, None))

    t = trace("M", 100)
    docs.append(_seg(t, "mydomain.com", b + 100, b + 100.1, error=True, http=_http(404)))

    t = trace("W", 120)
    get_temperature = _sub("get_temperature", b + 120.05, b + 120.95)
    docs.append(_seg(t, "GetWeatherData", b + 120, b + 121, subsegments=[get_temperature]))
    docs.append(_seg(t, "GetTemperature", b + 120.1, b + 120.8, parent_id=get_temperature["id"]))
    return ids, docs


ALL = set("ABCDEFGHIJKLMW")
OK = set("ABDFGHKLW")

# The devguide's examples (backend.md section 5), in its order, with the traces each selects.
EXPECTED: list[tuple[str, set[str]]] = [
    ("responsetime > 5", {"A", "C"}),
    ("duration >= 5 AND duration <= 8", {"A", "C"}),
    ("ok", OK),
    ("!ok", ALL - OK),
    ("ok = false", ALL - OK),
    ("ok !partial duration <3", set("BDFGHKW")),
    ("http.status != 200", set("CEIJM")),
    ('http.url CONTAINS "/api/game/"', {"A"}),
    ('user CONTAINS ""', {"A"}),
    ('service("api.example.com") { fault }', {"C"}),
    ("service() { fault }", set("CEJK")),
    ('service("data-plane") {root = true and fault = true}', {"J"}),
    ('service("api.example.com") { fault = true OR responsetime > 2.5 } AND annotation.account = "12345"', {"A", "C"}),
    ('edge("api.example.com", "backend.example.com") { error }', {"D"}),
    ('edge("api.example.com", "backend.example.com") { fault = true }', {"C"}),
    ('http.url BEGINSWITH "http://api.example.com/" AND http.url CONTAINS "/v2/" AND !service("api.example.com")', {"B"}),
    ("http.url AND responseTime > 2", {"A", "C"}),
    ('annotation.gameid = "817DL6VO"', {"A"}),
    ("annotation.age", {"A", "B"}),
    ("!annotation.age", ALL - {"A", "B"}),
    ("annotation.age > 29", {"A"}),
    ('annotation.account = "12345"', {"A", "C"}),
    ('group.name = "high_response_time" AND user = "alice"', {"A"}),
    ('service("function-name") { error }', {"I"}),
    ('service(id(name: "random-name", type: "AWS::Lambda::Function")) { error }', {"H"}),
    ('service(id(type: "AWS::Lambda::Function")) { error }', {"H", "I"}),
    ('service(id(account.id: "account-id"))', {"H"}),
    ('rootcause.fault.entity { last and name = "deserialize" }', {"C"}),
    ('rootcause.responsetime.entity { remote and coverage > 0.7 and name = "traces" }', {"F"}),
    # No node is both named after a table and typed AWS::DynamoDB (a table's node is AWS::DynamoDB::Table).
    ('rootcause.fault.service { inferred and name = traces and type = "AWS::DynamoDB" }', set()),
    ("rootcause.fault.service { index > 5 }", set()),
    ("rootcause.responsetime.entity { last and coverage > 0.8 }", set("ABFGHIJKM")),
    ('rootcause.fault.service { name = "Auth" }', {"E"}),
    ('rootcause.responsetime.service { last and type = "AWS::DynamoDB" }', {"G"}),
    ('rootcause.fault.exception { last and message = "Access Denied for account_id: 1234567890" }', {"C"}),
    ('rootcause.json = #[{ "Services": [ { "Name": "GetWeatherData", "EntityPath": [{ "Name": "GetWeatherData" }, '
     '{ "Name": "get_temperature" } ] }, { "Name": "GetTemperature", "EntityPath": [ { "Name": "GetTemperature" } ] } ] }]',
     {"W"}),  # fmt: skip
    ('fault = true AND http.url CONTAINS "example/game" AND responsetime >= 5', {"C"}),
    ('service("mydomain.com") {fault OR error}', {"M"}),
]

# More expressions on the same data: the variants the examples stand for.
EXTRA: list[tuple[str, set[str]]] = [
    ('rootcause.fault.service { inferred and name = "traces" and type = "AWS::DynamoDB::Table" }', {"E"}),
    ("rootcause.fault.service { index > 0 }", {"C", "E"}),
    ("rootcause.fault.service { first and !last }", {"C", "E"}),
    ('rootcause.fault.exception { name = "Boom" }', set()),
    ('rootcause.error.service { name = "random-name" and type = "AWS::Lambda::Function" }', {"H"}),
    ("inferred", set("AEFG")),
    ("throttle", set()),
    ("partial", {"L"}),
    ('service("backend.example.com") && !edge("api.example.com", "backend.example.com") { ok }', {"C", "D"}),
    ('edge(id(type: "AWS::Lambda"), id(type: "AWS::Lambda::Function")) { error }', {"H"}),
    ('service(id(name: "traces", type: "AWS::DynamoDB::Table")) { fault }', {"E"}),
    ('group.name = "slow_or_fault"', set("ACEJK")),
    ('group.name != "slow_or_fault" and ok', OK - {"A", "K"}),
    ('group.name = "no-such-group"', set()),
    ('group.arn = "arn:aws:xray:us-east-1:000000000000:group/high_response_time/1"', {"A", "C"}),
    ('annotation[account] = "12345" || user = "alice"', {"A", "C"}),
    # Inferred nodes are named and typed as the service graph names them (fluoro.query.nodes).
    ('service(id(name: "backend.example.com", type: "remote"))', {"A"}),
    ('service(id(name: "DynamoDB", type: "AWS::DynamoDB")) { inferred }', {"G"}),
    ('edge("frontend", id(name: "traces", type: "remote"))', {"F"}),
    ('not (ok or fault) and http.status >= 400 and http.status < 500', {"I", "M"}),
]

GROUPS = {
    ("name", "high_response_time"): "responsetime > 5",
    ("arn", "arn:aws:xray:us-east-1:000000000000:group/high_response_time/1"): "responsetime > 5",
    ("name", "slow_or_fault"): 'group.name = "high_response_time" OR service("data-plane") { fault } OR fault',
}


def resolve_group(kind: str, value: str) -> str | None:
    return GROUPS.get((kind, value))

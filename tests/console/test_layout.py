"""The trace-map layout endpoint and the console's static serving, without a browser."""

from __future__ import annotations

import json
import random
from typing import Any

import httpx
import pytest

from fluoro.console.layout import LAYER_GAP, ROW_GAP, LayoutError, layout_services
from tests.server.helpers import FIXTURES


def _graph(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """A client, then tiers of ten services, each called from the tier above (some from two
    tiers above), and one call back up that makes a cycle: the shape of a large service map."""
    rng = random.Random(seed)
    services: list[dict[str, Any]] = [{"ReferenceId": 0, "Name": "client", "Type": "client", "Edges": []}]
    tiers: list[list[int]] = [[0]]
    for ref in range(1, n):
        services.append({"ReferenceId": ref, "Name": f"svc-{ref}", "Type": "AWS::EC2::Instance", "Edges": []})
        tier = 1 + (ref - 1) // 10
        if len(tiers) <= tier:
            tiers.append([])
        tiers[tier].append(ref)
        callers = rng.sample(tiers[tier - 1], min(2, len(tiers[tier - 1])))
        if tier >= 2 and rng.random() < 0.2:
            callers.append(rng.choice(tiers[tier - 2]))
        for caller in set(callers):
            services[caller]["Edges"].append({"ReferenceId": ref})
    services[n - 1]["Edges"].append({"ReferenceId": 1})
    return services


def test_fifty_nodes_get_distinct_positions_and_edges_follow_layers() -> None:
    services = _graph(50)
    placed = layout_services(services)
    spots = {(n["x"], n["y"]) for n in placed["nodes"]}
    assert len(spots) == 50
    layer = {n["id"]: n["layer"] for n in placed["nodes"]}
    assert layer[0] == 0
    for edge in placed["edges"]:
        xs = [p[0] for p in edge["points"]]
        # Every waypoint sits one layer further along: no edge jumps over a column of nodes.
        steps = {round(abs(b - a) / LAYER_GAP, 6) for a, b in zip(xs, xs[1:])}
        assert steps <= {1.0}, edge
    assert len(placed["edges"]) == sum(len(s["Edges"]) for s in services)
    # Nodes in a column never overlap: at least one row apart.
    columns: dict[float, list[float]] = {}
    for n in placed["nodes"]:
        columns.setdefault(n["x"], []).append(n["y"])
    for ys in columns.values():
        ys.sort()
        assert all(b - a >= ROW_GAP for a, b in zip(ys, ys[1:]))
    assert placed["width"] <= 2 * 90 + 6 * LAYER_GAP  # six columns for six tiers


def test_recorded_service_graph_is_laid_out_left_to_right() -> None:
    graph = json.loads((FIXTURES / "service-graph" / "devguide-client-ec2-dynamodb-sns.json").read_text())
    placed = layout_services(graph["Services"])
    x = {n["id"]: n["x"] for n in placed["nodes"]}
    for service in graph["Services"]:
        for edge in service["Edges"]:
            assert x[service["ReferenceId"]] < x[edge["ReferenceId"]]


@pytest.mark.parametrize("services, message", [
    (None, "Services is required"),
    ([{"Name": "x"}], "integer ReferenceId"),
    ([{"ReferenceId": 1}, {"ReferenceId": 1}], "appears twice"),
    ([{"ReferenceId": 1, "Edges": "no"}], "Edges must be a list"),
])
def test_bad_services_are_rejected(services: Any, message: str) -> None:
    with pytest.raises(LayoutError, match=message):
        layout_services(services)


def test_http_endpoint_and_static_files(server: Any) -> None:
    base = f"http://127.0.0.1:{server.port}"
    page = httpx.get(base + "/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert httpx.get(base + "/console/static/js/main.js").status_code == 200
    assert httpx.get(base + "/console/static/js/nothing.js").status_code == 404
    ok = httpx.post(base + "/console/api/layout", json={"Services": _graph(5)})
    assert ok.status_code == 200 and len(ok.json()["nodes"]) == 5
    bad = httpx.post(base + "/console/api/layout", content=b"{not json")
    assert bad.status_code == 400 and bad.json()["message"] == "Request body is not valid JSON"
    wrong = httpx.post(base + "/console/api/layout", json={"Services": [{"Name": "x"}]})
    assert wrong.status_code == 400 and "ReferenceId" in wrong.json()["message"]
    # The X-Ray API keeps answering next to the console.
    assert httpx.post(base + "/TraceSummaries", json={"StartTime": 0, "EndTime": 1}).status_code == 200

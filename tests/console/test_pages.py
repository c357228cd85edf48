"""The console in a real browser: every page renders, the timeline, filters, settings, hostile data."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tests.server.helpers import FIXTURES, wait_for, xray_client

from .conftest import HOSTILE, HOSTILE_SCRIPT, navigate_by, open_page


def _no_errors(pg: Any) -> None:
    assert pg.errors == [], pg.errors


def test_every_page_renders_without_console_errors(page: Any, dataset: dict[str, str], screenshots: Path) -> None:
    views = [("#/map", "map"), ("#/traces", "traces"), (f"#/trace/{dataset['ok']}", "trace"),
             ("#/analytics", "analytics"), ("#/settings", "settings")]
    for fragment, ready in views:
        open_page(page, fragment, ready)
        if ready == "trace":
            page.wait_for_selector("#trace-map .map-node")
        assert page.locator("#view h1").first.is_visible()
        assert not page.locator(".error-box").count(), page.locator(".error-box").all_inner_texts()
        page.screenshot(path=str(screenshots / f"{ready}.png"), full_page=True)
    _no_errors(page)


def test_map_shows_the_graph_nodes_and_edges(page: Any, server: Any, dataset: dict[str, str]) -> None:
    now = time.time()
    graph = xray_client(server.port).get_service_graph(StartTime=now - 3600, EndTime=now + 60)
    # What the SDK sent: three services called by their clients, DynamoDB and SQL behind checkout.
    assert {(s["Name"], s.get("Type")) for s in graph["Services"]} >= {
        ("checkout", "client"), ("checkout", None), ("Orders", "AWS::DynamoDB::Table"), ("slow-job", None)}
    open_page(page, "#/map", "map")
    page.wait_for_selector(".map-node")
    names = sorted(page.locator(".map-node").evaluate_all("els => els.map(e => e.dataset.name)"))
    assert names == sorted(s["Name"] for s in graph["Services"])
    edges = sorted(page.locator(".map-edge").evaluate_all("els => els.map(e => e.dataset.source + '>' + e.dataset.target)"))
    by_ref = {s["ReferenceId"]: s["Name"] for s in graph["Services"]}
    assert edges == sorted(f"{s['Name']}>{by_ref[e['ReferenceId']]}" for s in graph["Services"] for e in s["Edges"])
    kinds = set(page.locator(".map-node .icon").evaluate_all("els => els.map(e => e.dataset.kind)"))
    assert {"client", "dynamodb", "sql", "service"} <= kinds
    # checkout served one ok and one faulted request: its ring shows both shares.
    ring = page.locator('.map-node[data-name="checkout"][data-type=""] [data-share]')
    assert sorted(ring.evaluate_all("els => els.map(e => e.dataset.share)")) == ["fault", "ok"]
    target = next(s for s in graph["Services"] if s["Name"] == "checkout" and s.get("Type") != "client")
    page.locator('.map-node[data-name="checkout"][data-type=""]').click()
    page.wait_for_selector("#selection svg.chart")
    assert page.locator("#selection svg.chart rect").count() > 0
    assert page.locator("#generated-filter").inner_text() == f'service("{target["Name"]}")'
    navigate_by(page, page.get_by_role("button", name="View traces").click, "traces")
    assert page.locator("#filter").input_value() == f'service("{target["Name"]}")'
    # Keyboard: an edge is reachable and selectable with Enter.
    open_page(page, "#/map", "map")
    page.locator(".map-edge").first.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#selection")
    assert page.locator("#selection h2").inner_text().startswith("Edge ")
    assert page.locator(".error-box").count() == 0  # the generated filter is valid X-Ray syntax
    _no_errors(page)


def _seconds(text: str) -> float:
    value, unit = text.split()
    return float(value) / (1000 if unit == "ms" else 1)


def _rows(pg: Any) -> list[tuple[str, int, str]]:
    return pg.locator("#timeline .tl-row[data-id]").evaluate_all(
        "els => els.map(e => [e.querySelector('.tl-text').textContent, Number(e.dataset.depth), e.dataset.status])")


def test_timeline_shows_segments_and_nested_subsegments(page: Any, dataset: dict[str, str]) -> None:
    open_page(page, f"#/trace/{dataset['ok']}", "trace")
    rows = _rows(page)
    names = [(name, depth) for name, depth, _ in rows]
    assert names == [
        ("checkout", 0), ("validate", 1), ("parse", 2), ("schema", 3), ("DynamoDB", 1),
        ("DynamoDB (inferred)", 2), ("orders@db.example.com", 1),
        ("orders@db.example.com (inferred)", 2)], names
    assert page.locator('#timeline .tl-row[data-kind="inferred"] .tl-bar.inferred').count() == 2
    # Collapse "validate": its two descendants disappear; expand brings them back.
    page.locator('#timeline .tl-row:has-text("validate") [data-toggle]').click()
    assert [n for n, _, _ in _rows(page)] == ["checkout", "validate", "DynamoDB", "DynamoDB (inferred)",
                                                  "orders@db.example.com", "orders@db.example.com (inferred)"]
    page.get_by_role("button", name="Expand all").click()
    assert len(_rows(page)) == 8
    # Selecting a row shows its tabs; the URL carries the selection.
    page.locator("#timeline .tl-row").filter(has_text="orders@db.example.com").first.click()
    page.get_by_role("tab", name="SQL").click()
    assert "SELECT * FROM orders WHERE id = ?" in page.locator("#detail-panel").inner_text()
    assert "row=" in page.url
    page.reload()
    page.wait_for_selector('#view[data-ready="trace"]')
    assert page.locator("#timeline .tl-row.selected .tl-text").inner_text() == "orders@db.example.com"
    page.locator('#timeline .tl-row:has-text("checkout")').first.click()
    for tab, text in [("Annotations", "c-42"), ("Metadata", '"items": 3'), ("HTTP", "/checkout"), ("Raw JSON", '"name": "checkout"')]:
        page.get_by_role("tab", name=tab).click()
        assert text in page.locator("#detail-panel").inner_text(), tab
    page.locator('#trace-map .map-node[data-name="Orders"]').click()
    assert page.locator("#map-side #selection h2").inner_text() == "Node Orders"
    page.locator("#critical").check()
    assert page.locator("#timeline .tl-row.critical").count() >= 2
    _no_errors(page)


def test_fault_exception_and_in_progress_rows(page: Any, dataset: dict[str, str]) -> None:
    open_page(page, f"#/trace/{dataset['fault']}", "trace")
    statuses = {name: status for name, _, status in _rows(page)}
    assert statuses["checkout"] == "fault"
    page.locator('#timeline .tl-row:has-text("charge")').click()
    page.get_by_role("tab", name="Exceptions").click()
    panel = page.locator("#detail-panel").inner_text()
    assert "RuntimeError" in panel and "card declined" in panel and " at " in panel
    open_page(page, f"#/trace/{dataset['in_progress']}", "trace")
    rows = _rows(page)
    assert [(n, d) for n, d, _ in rows] == [("slow-job", 0), ("step-1", 1), (f"{HOSTILE} (in progress)", 2)]
    assert rows[2][2] == "inprogress"
    _no_errors(page)


def test_filter_narrows_the_table_and_a_mistake_shows_its_position(page: Any, dataset: dict[str, str]) -> None:
    open_page(page, "#/traces?range=1d", "traces")
    page.wait_for_selector("#trace-rows tr[data-trace-id]")
    all_ids = set(page.locator("#trace-rows tr[data-trace-id]").evaluate_all("els => els.map(e => e.dataset.traceId)"))
    assert set(dataset.values()) <= all_ids
    page.fill("#filter", "http.status = 500")
    navigate_by(page, page.get_by_role("button", name="Run query").click, "traces")
    assert wait_for(lambda: page.locator("#trace-rows tr[data-trace-id]").count() == 1)
    assert page.locator("#trace-rows tr[data-trace-id]").get_attribute("data-trace-id") == dataset["fault"]
    assert "filter=http.status" in page.url
    # Refiners append to the expression.
    open_page(page, "#/traces?range=1d", "traces")
    navigate_by(page, page.locator("#refiners button", has_text="alice").click, "traces")
    assert page.locator("#filter").input_value() == 'user = "alice"'
    assert page.locator("#trace-rows tr[data-trace-id]").evaluate_all("els => els.map(e => e.dataset.traceId)") == [dataset["ok"]]
    # Sorting by response time, both directions.
    open_page(page, "#/traces?range=1d", "traces")
    page.locator("th", has_text="Response time").locator("button").click()
    times = page.locator("#trace-rows tr[data-trace-id]").evaluate_all("els => els.map(e => e.children[5].textContent)")
    assert page.locator("th", has_text="Response time").get_attribute("aria-sort") == "ascending"
    assert len(times) >= 4 and [_seconds(t) for t in times] == sorted(_seconds(t) for t in times)
    page.locator("th", has_text="Response time").locator("button").click()
    times = page.locator("#trace-rows tr[data-trace-id]").evaluate_all("els => els.map(e => e.children[5].textContent)")
    assert [_seconds(t) for t in times] == sorted((_seconds(t) for t in times), reverse=True)
    # A trace id typed in the box opens the trace, in X-Ray or W3C form.
    w3c = dataset["ok"][2:].replace("-", "")
    page.fill("#filter", w3c)
    navigate_by(page, page.get_by_role("button", name="Run query").click, "trace")
    assert page.locator("#trace-id").inner_text() == dataset["ok"]
    # A syntax error: the message and the position under the expression.
    bad = "http.status = 500 AND ("
    open_page(page, "#/traces?range=1d&filter=" + bad.replace(" ", "%20").replace("(", "%28"), "traces")
    box = page.locator(".error-box")
    assert box.is_visible()
    assert box.locator("pre").get_attribute("data-error-position") == str(len(bad))
    assert "position" in box.inner_text()
    _no_errors_except_http(page)


def test_hostile_data_is_shown_as_text(page: Any, server: Any, dataset: dict[str, str]) -> None:
    open_page(page, "#/traces?range=1d", "traces")
    page.wait_for_selector("#trace-rows tr[data-trace-id]")
    assert HOSTILE in page.locator("#view").inner_text()
    open_page(page, f"#/trace/{dataset['hostile']}", "trace")
    for name in ("hostile", "danger"):
        page.locator(f'#timeline .tl-row:has-text("{name}")').first.click()
        for tab in ("Overview", "Annotations", "Metadata", "Exceptions", "HTTP", "Raw JSON"):
            page.get_by_role("tab", name=tab).click()
    page.get_by_role("tab", name="Exceptions").click()
    assert HOSTILE in page.locator("#detail-panel").inner_text()
    open_page(page, f"#/trace/{dataset['in_progress']}", "trace")
    assert f"{HOSTILE} (in progress)" in page.locator("#timeline .tl-text").all_inner_texts()
    open_page(page, "#/analytics?range=1d", "analytics")
    assert HOSTILE in page.locator("#view").inner_text()
    open_page(page, "#/map", "map")  # the map holds the node named with markup
    assert HOSTILE in page.locator(".map-node").evaluate_all("els => els.map(e => e.dataset.name)")
    page.locator(f".map-node[aria-label^='{HOSTILE[:8]}']").first.click()
    assert HOSTILE in page.locator("#selection h2").inner_text()
    assert page.evaluate("window.__xss") is None
    assert page.locator("#view img, #view script").count() == 0
    assert HOSTILE_SCRIPT  # the annotation value, checked through the table chips above
    _no_errors(page)


def test_settings_crud_round_trips_through_the_api(page: Any, server: Any, dataset: dict[str, str]) -> None:
    xray = xray_client(server.port)
    page.on("dialog", lambda dialog: dialog.accept())
    open_page(page, "#/settings", "settings")
    page.locator("#new-rule").click()
    form = page.locator("#rule-form")
    form.locator('[name="RuleName"]').fill("checkout-rule")
    form.locator('[name="Priority"]').fill("42")
    form.locator('[name="FixedRate"]').fill("0.25")
    form.locator('[name="ServiceName"]').fill("checkout")
    form.get_by_role("button", name="Save").click()
    page.wait_for_selector('tr[data-rule="checkout-rule"]')
    rules = {r["SamplingRule"]["RuleName"]: r["SamplingRule"] for r in xray.get_sampling_rules()["SamplingRuleRecords"]}
    assert rules["checkout-rule"]["Priority"] == 42 and rules["checkout-rule"]["FixedRate"] == 0.25
    assert rules["checkout-rule"]["ServiceName"] == "checkout"
    page.locator('tr[data-rule="checkout-rule"]').get_by_role("button", name="Edit").click()
    page.locator('#rule-form [name="Priority"]').fill("7")
    page.locator("#rule-form").get_by_role("button", name="Save").click()
    page.wait_for_selector('tr[data-rule="checkout-rule"] td:nth-child(2):text-is("7")')
    rules = {r["SamplingRule"]["RuleName"]: r["SamplingRule"] for r in xray.get_sampling_rules()["SamplingRuleRecords"]}
    assert rules["checkout-rule"]["Priority"] == 7
    page.locator('tr[data-rule="checkout-rule"]').get_by_role("button", name="Delete").click()
    page.wait_for_selector('tr[data-rule="checkout-rule"]', state="detached")
    assert "checkout-rule" not in {r["SamplingRule"]["RuleName"] for r in xray.get_sampling_rules()["SamplingRuleRecords"]}

    page.locator("#new-group").click()
    page.locator('#group-form [name="GroupName"]').fill("slow-checkout")
    page.locator('#group-form [name="FilterExpression"]').fill("responsetime > 1")
    page.locator("#group-form").get_by_role("button", name="Save").click()
    page.wait_for_selector('tr[data-group="slow-checkout"]')
    assert xray.get_group(GroupName="slow-checkout")["Group"]["FilterExpression"] == "responsetime > 1"
    page.locator('tr[data-group="slow-checkout"]').get_by_role("button", name="Edit").click()
    page.locator('#group-form [name="FilterExpression"]').fill("http.status = 500")
    page.locator("#group-form").get_by_role("button", name="Save").click()
    page.wait_for_selector('tr[data-group="slow-checkout"] td:text-is("http.status = 500")')
    assert xray.get_group(GroupName="slow-checkout")["Group"]["FilterExpression"] == "http.status = 500"
    # The group narrows the map and the traces page.
    open_page(page, "#/map?range=1d&group=slow-checkout", "map")
    page.wait_for_selector(".map-node")
    assert set(page.locator(".map-node").evaluate_all("els => els.map(e => e.dataset.name)")) == {"checkout"}
    open_page(page, "#/traces?range=1d&group=slow-checkout", "traces")
    assert page.locator("#trace-rows tr[data-trace-id]").evaluate_all("els => els.map(e => e.dataset.traceId)") == [dataset["fault"]]
    open_page(page, "#/settings", "settings")
    page.locator('tr[data-group="slow-checkout"]').get_by_role("button", name="Delete").click()
    page.wait_for_selector('tr[data-group="slow-checkout"]', state="detached")
    assert "slow-checkout" not in {g["GroupName"] for g in xray.get_groups()["Groups"]}
    # The Default rule: only its reservoir and rate are editable, as in X-Ray.
    open_page(page, "#/settings", "settings")
    page.locator('tr[data-rule="Default"]').get_by_role("button", name="Edit").click()
    assert page.locator('#rule-form [name="Priority"]').is_disabled()
    page.locator('#rule-form [name="FixedRate"]').fill("0.1")
    page.locator("#rule-form").get_by_role("button", name="Save").click()
    page.wait_for_selector('tr[data-rule="Default"] td:text-is("10.0%")')
    rules = {r["SamplingRule"]["RuleName"]: r["SamplingRule"] for r in xray.get_sampling_rules()["SamplingRuleRecords"]}
    assert rules["Default"]["FixedRate"] == 0.1 and rules["Default"]["Priority"] == 10000
    # A rejected create shows the API's message and keeps the form.
    page.locator("#new-rule").click()
    page.locator('#rule-form [name="RuleName"]').fill("bad-rate")
    page.locator('#rule-form [name="FixedRate"]').fill("7")
    page.locator("#rule-form").get_by_role("button", name="Save").click()
    page.wait_for_selector("#rule-form .error-box")
    _no_errors_except_http(page)


def _no_errors_except_http(pg: Any) -> None:
    """The browser logs a failed fetch (the rejected create) as a console error; nothing else may appear."""
    assert [e for e in pg.errors if "status of 400" not in e] == []


def test_analytics_compares_two_sets(page: Any, dataset: dict[str, str]) -> None:
    open_page(page, "#/analytics?range=1d&a=&b=http.status%20%3D%20500", "analytics")
    assert "Set B 1 traces" in page.locator(".tile-b").inner_text()
    status = page.locator('[data-dimension="HTTP status"]')
    assert status.locator("th", has_text="Δ").count() == 1
    row = status.locator('tr[data-clause="http.status = 500"]')
    assert row.locator("td").nth(3).inner_text() == "1"
    navigate_by(page, page.locator('[data-dimension="User"] tr[data-clause=\'user = "alice"\']').click, "analytics")
    assert page.locator("#filter-a").input_value() == 'user = "alice"'
    assert "Set A 1 traces" in page.locator(".tile-a").inner_text()
    _no_errors(page)


def test_opening_a_batch_get_traces_file_renders_without_storing(page: Any, server: Any, tmp_path: Path) -> None:
    source = FIXTURES / "batch-get-traces" / "devguide-scorekeep-lambda-sns.json"
    data = json.loads(source.read_text())
    open_page(page, "#/traces", "traces")
    navigate_by(page, lambda: page.set_input_files("#open-file", str(source)), "file")
    page.wait_for_selector("#timeline .tl-row[data-id]")
    segments = sum(len(t["Segments"]) for t in data["Traces"][:1])
    assert page.locator('#timeline .tl-row[data-kind="segment"], #timeline .tl-row[data-kind="inferred"]').count() >= 1
    assert page.locator("#trace-id").inner_text() == data["Traces"][0]["Id"]
    assert segments >= 1
    stored = xray_client(server.port).batch_get_traces(TraceIds=[data["Traces"][0]["Id"]])["Traces"]
    assert stored == []
    _no_errors(page)


def test_narrow_window_and_live_view(browser: Any, server: Any, dataset: dict[str, str], screenshots: Path) -> None:
    context = browser.new_context(viewport={"width": 420, "height": 800})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    for fragment, ready in [("#/map", "map"), (f"#/trace/{dataset['ok']}", "trace"), ("#/analytics", "analytics"),
                            ("#/settings", "settings")]:
        pg.goto(f"http://127.0.0.1:{server.port}/{fragment}")
        pg.wait_for_selector(f'#view[data-ready="{ready}"]')
        assert pg.evaluate("document.documentElement.scrollWidth") <= 440, ready
        pg.screenshot(path=str(screenshots / f"narrow-{ready}.png"), full_page=True)
    pg.goto(f"http://127.0.0.1:{server.port}/#/traces?range=1h&live=1")
    pg.wait_for_selector('#view[data-ready="traces"]')
    assert pg.evaluate("document.documentElement.scrollWidth") <= 440
    before = pg.locator("#trace-rows tr[data-trace-id]").count()
    from .conftest import _send_with_sdk

    _send_with_sdk(server.port)
    assert wait_for(lambda: pg.locator("#trace-rows tr[data-trace-id]").count() >= before + 3, timeout=30)
    assert pg.locator("#trace-rows tr.live-new").count() >= 3
    context.close()
    assert errors == []


def test_map_stays_readable_at_fifty_nodes(page: Any, screenshots: Path) -> None:
    """50 services (answered by a Playwright route, a test-only stub): none overlap, labels included."""
    from .test_layout import _graph

    services = _graph(50)
    for i, svc in enumerate(services[1:], 1):
        svc["Type"] = ["AWS::Lambda::Function", "AWS::DynamoDB::Table", "AWS::SQS::Queue", "remote", "Database::SQL"][i % 5]
        svc["SummaryStatistics"] = {"OkCount": 90, "ErrorStatistics": {"ThrottleCount": 2, "OtherCount": 3, "TotalCount": 5},
                                    "FaultStatistics": {"OtherCount": 3, "TotalCount": 3}, "TotalCount": 100,
                                    "TotalResponseTime": 12.5}
        svc["ResponseTimeHistogram"] = [{"Value": 0.05 * (k + 1), "Count": k + 1} for k in range(8)]
    page.route("**/ServiceGraph", lambda route: route.fulfill(json={"Services": services}))
    open_page(page, "#/map", "map")
    page.wait_for_selector(".map-node")
    boxes = page.locator(".map-node").evaluate_all(
        "els => els.map(e => { const r = e.getBBox(); const m = e.transform.baseVal[0].matrix;"
        " return [m.e + r.x, m.f + r.y, r.width, r.height]; })")
    assert len(boxes) == 50
    for i, (x1, y1, w1, h1) in enumerate(boxes):
        for x2, y2, w2, h2 in boxes[i + 1:]:
            assert x1 + w1 <= x2 or x2 + w2 <= x1 or y1 + h1 <= y2 or y2 + h2 <= y1, "two nodes overlap"
    assert page.locator('.map-node [data-share="fault"]').count() == 49
    page.screenshot(path=str(screenshots / "map-50-nodes.png"), full_page=True)
    _no_errors(page)


def test_long_timeline_scrolls_through_every_row(page: Any, server: Any) -> None:
    """Only the rows in view are in the DOM; scrolling and the keyboard still reach every one."""
    now = time.time()
    trace_id = "1-%08x-%s" % (int(now), "10e" * 8)
    subs = [{"name": f"call-{i:03d}", "id": "%016x" % (i + 2), "start_time": now - 3 + i * 0.01,
             "end_time": now - 3 + i * 0.01 + 0.005} for i in range(300)]
    root = {"name": "long", "id": "%016x" % 1, "trace_id": trace_id, "start_time": now - 3, "end_time": now,
            "subsegments": subs}
    xray = xray_client(server.port)
    assert xray.put_trace_segments(TraceSegmentDocuments=[json.dumps(root)])["UnprocessedTraceSegments"] == []
    assert wait_for(lambda: xray.batch_get_traces(TraceIds=[trace_id])["Traces"])
    open_page(page, f"#/trace/{trace_id}", "trace")
    assert page.locator("#timeline .tl-body").get_attribute("data-rows") == "301"
    assert page.locator("#timeline .tl-row[data-id]").count() < 301
    page.locator("#timeline").evaluate("el => { el.scrollTop = el.scrollHeight; }")
    page.wait_for_selector('#timeline .tl-text:text-is("call-299")')
    page.locator("#timeline").evaluate("el => { el.scrollTop = 0; }")
    page.locator('#timeline .tl-row[data-index="0"]').focus()
    page.keyboard.press("End")
    assert page.evaluate("document.activeElement.querySelector('.tl-text').textContent") == "call-299"
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    assert page.locator("#timeline .tl-row.selected .tl-text").inner_text() == "call-298"
    assert "call-298" in page.locator("#details h2").inner_text()
    page.keyboard.press("Home")
    page.keyboard.press("ArrowLeft")  # collapse the root
    assert page.locator("#timeline .tl-body").get_attribute("data-rows") == "1"
    _no_errors(page)


def test_compare_two_traces_and_copy_the_id(page: Any, dataset: dict[str, str]) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_page(page, "#/traces?range=1d", "traces")
    for key in ("ok", "fault"):
        page.locator(f'[data-compare="{dataset[key]}"]').check()
    navigate_by(page, page.get_by_role("button", name="Compare selected").click, "compare")
    names = page.locator("#compare-table tbody td:first-child").all_inner_texts()
    assert "validate" in names and "charge" in names
    charge = page.locator("#compare-table tbody tr", has_text="charge").locator("td")
    assert charge.nth(1).inner_text() == "absent" and charge.nth(2).inner_text() != "absent"
    assert page.locator(".timeline").count() == 2
    open_page(page, f"#/trace/{dataset['ok']}", "trace")
    page.locator("#copy-id").click()
    page.wait_for_selector('#copy-id:text-is("Copied")')
    assert page.evaluate("navigator.clipboard.readText()") == dataset["ok"]
    _no_errors(page)

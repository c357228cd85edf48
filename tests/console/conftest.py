"""Browser fixtures: a real ``fluoro server``, traces sent by the fluoro SDK, Debian's Chromium via Playwright."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from fluoro.server import FluoroServer
from tests.server.helpers import start_server, wait_for, xray_client

CHROMIUM = os.environ.get("FLUORO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
HOSTILE = '<img src=x onerror="window.__xss=1">'
HOSTILE_SCRIPT = "<script>window.__xss=2</script>"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Module-scoped: Playwright's sync API keeps an event loop running in this thread while
    it is started, which would break later tests that call asyncio.run."""
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium; .ci/run does)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[dev]')")
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
                                      args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where page screenshots go, for a person to look at (FLUORO_CONSOLE_SCREENSHOTS picks the folder)."""
    chosen = os.environ.get("FLUORO_CONSOLE_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("console-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    _SCREENSHOT_DIRS.append(folder)
    return folder


_SCREENSHOT_DIRS: list[Path] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for folder in _SCREENSHOT_DIRS:
        shots = sorted(p.name for p in folder.glob("*.png"))
        if shots:
            terminalreporter.write_line(f"console screenshots in {folder}: {', '.join(shots)}")


@pytest.fixture(scope="module")
def server() -> Iterator[FluoroServer]:
    srv = start_server()
    yield srv
    srv.stop()


def _send_with_sdk(port: int) -> dict[str, str]:
    """Three traces through the SDK's UDP emitter, as an instrumented app would send them."""
    from fluoro.core.recorder import AWSXRayRecorder

    recorder = AWSXRayRecorder()
    recorder.configure(service="shop", daemon_address=f"127.0.0.1:{port}", sampling=False,
                       context_missing="LOG_ERROR", plugins=())
    ids: dict[str, str] = {}

    # An ordinary request: nested subsegments, an AWS call (inferred DynamoDB node), SQL.
    seg = recorder.begin_segment("checkout")
    seg.put_http_meta("method", "POST")
    seg.put_http_meta("url", "http://shop.example.com/checkout")
    seg.put_http_meta("status", 200)
    seg.put_annotation("customer", "c-42")
    seg.set_user("alice")
    seg.put_metadata("cart", {"items": 3}, "shop")
    recorder.begin_subsegment("validate")
    recorder.begin_subsegment("parse")
    recorder.begin_subsegment("schema")
    time.sleep(0.005)
    recorder.end_subsegment()
    recorder.end_subsegment()
    recorder.end_subsegment()
    ddb = recorder.begin_subsegment("DynamoDB", namespace="aws")
    ddb.set_aws({"operation": "PutItem", "table_name": "Orders", "region": "us-east-1", "request_id": "R1"})
    ddb.put_http_meta("status", 200)
    time.sleep(0.003)
    recorder.end_subsegment()
    sql = recorder.begin_subsegment("orders@db.example.com", namespace="remote")
    sql.set_sql({"url": "postgresql://db.example.com/orders", "sanitized_query": "SELECT * FROM orders WHERE id = ?",
                 "database_type": "PostgreSQL"})
    recorder.end_subsegment()
    ids["ok"] = seg.trace_id
    recorder.end_segment()

    # A fault: an exception with a stack, HTTP 500.
    seg = recorder.begin_segment("checkout")
    seg.put_http_meta("method", "POST")
    seg.put_http_meta("url", "http://shop.example.com/pay")
    seg.put_http_meta("status", 500)
    seg.set_user("bob")
    sub = recorder.begin_subsegment("charge")
    try:
        raise RuntimeError("card declined")
    except RuntimeError as exc:
        import traceback

        sub.add_exception(exc, traceback.extract_stack())
    recorder.end_subsegment()
    seg.add_fault_flag()
    ids["fault"] = seg.trace_id
    recorder.end_segment()

    # Hostile data everywhere the SDK lets it through.
    seg = recorder.begin_segment("hostile")
    seg.put_http_meta("method", "GET")
    seg.put_http_meta("url", f"http://shop.example.com/{HOSTILE}")
    seg.put_http_meta("status", 404)
    seg.put_annotation("note", HOSTILE_SCRIPT)
    seg.set_user(HOSTILE)
    seg.put_metadata("payload", {"html": HOSTILE, "script": HOSTILE_SCRIPT})
    sub = recorder.begin_subsegment("danger")
    try:
        raise ValueError(HOSTILE)
    except ValueError as exc:
        sub.add_exception(exc, [])
    recorder.end_subsegment()
    ids["hostile"] = seg.trace_id
    recorder.end_segment()
    return ids


def _put_raw(xray: Any) -> dict[str, str]:
    """What an SDK cannot send: an in-progress segment, and a name with markup (PutTraceSegments is open to anyone)."""
    now = time.time()
    trace_id = "1-%08x-%s" % (int(now), "c0ffee" * 4)
    parent = {"name": "slow-job", "id": "a1b2c3d4e5f60718", "trace_id": trace_id, "start_time": now - 2,
              "end_time": now, "http": {"request": {"method": "GET", "url": "http://jobs.example.com/run"},
                                         "response": {"status": 200}},
              "subsegments": [{"name": "step-1", "id": "b1b2c3d4e5f60718", "start_time": now - 1.9, "end_time": now - 1.5}]}
    child = {"name": HOSTILE, "id": "f1b2c3d4e5f60718", "trace_id": trace_id, "parent_id": "b1b2c3d4e5f60718",
             "start_time": now - 1.8, "in_progress": True}
    answer = xray.put_trace_segments(TraceSegmentDocuments=[json.dumps(parent), json.dumps(child)])
    assert answer["UnprocessedTraceSegments"] == []
    return {"in_progress": trace_id}


@pytest.fixture(scope="module")
def dataset(server: FluoroServer) -> dict[str, str]:
    xray = xray_client(server.port)
    ids = {**_send_with_sdk(server.port), **_put_raw(xray)}

    def stored() -> bool:
        found = xray.batch_get_traces(TraceIds=list(ids.values()))["Traces"]
        return len(found) == len(ids)

    assert wait_for(stored), "the traces sent by the SDK did not arrive"
    now = time.time()

    def rolled_up() -> bool:  # the map is kept by a background rollup a few seconds behind
        answer = xray.get_service_graph(StartTime=now - 3600, EndTime=now + 60)
        return {"checkout", "hostile", "slow-job"} <= {s["Name"] for s in answer["Services"]}

    assert wait_for(rolled_up, timeout=60), "the service graph never showed the traces sent"
    return ids


@pytest.fixture()
def page(browser: Any, server: FluoroServer) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    pg.errors = []  # type: ignore[attr-defined]
    pg.on("console", lambda msg: pg.errors.append(msg.text) if msg.type == "error" else None)
    pg.on("pageerror", lambda exc: pg.errors.append(str(exc)))
    pg.base = f"http://127.0.0.1:{server.port}/"  # type: ignore[attr-defined]
    yield pg
    context.close()


def _mark_current_view(pg: Any) -> None:
    """Tag what the view shows now, so a wait cannot be satisfied by the page being left.

    Changing only the fragment does not reload the document: until the
    hashchange event runs, the old page still carries its data-ready mark.
    """
    pg.evaluate("document.querySelector('#view')?.firstElementChild?.setAttribute('data-stale', '')")


def _wait_for_new_view(pg: Any, ready: str) -> None:
    pg.wait_for_selector(f'#view[data-ready="{ready}"] > :not([data-stale])', timeout=20_000)


def open_page(pg: Any, fragment: str, ready: str) -> None:
    url = pg.base + fragment
    _mark_current_view(pg)
    if pg.url == url:
        pg.reload()  # the same fragment again would not route
    else:
        pg.goto(url)
    _wait_for_new_view(pg, ready)


def navigate_by(pg: Any, action: Callable[[], object], ready: str) -> None:
    """Do what changes the route (a click, a submit) and wait for the page it leads to."""
    _mark_current_view(pg)
    action()
    _wait_for_new_view(pg, ready)

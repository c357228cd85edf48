"""Console rendering in Chromium: a 5,000-subsegment trace timeline and 1,000 trace rows.

    python bench/console_render.py [--runs 5]

A real server (in memory) gets the data through PutTraceSegments; Debian's
Chromium, driven by Playwright, opens the pages.  The page itself measures
(performance.measure around building the DOM, layout included), so network
and API time are reported separately as the full page time.  Goals from
issue [6]: timeline <= 1 s, 1,000 rows <= 300 ms.  No other trace console runs
on this machine, so the ratios printed are against those goals.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import machine  # noqa: E402

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMELINE_GOAL = 1.0
ROWS_GOAL = 0.300


def big_trace(now: float) -> tuple[str, list[str]]:
    """One segment, 50 subsegments under it, 99 under each: 5,000 subsegments, sent as
    independent subsegment documents (a single document may not exceed 64 KB)."""
    trace_id = "1-%08x-%s" % (int(now), "b16" * 8)
    root = {"name": "big", "id": "%016x" % 1, "trace_id": trace_id, "start_time": now - 10, "end_time": now,
            "http": {"request": {"method": "GET", "url": "http://big.example.com/"}, "response": {"status": 200}}}
    docs = [json.dumps(root)]
    n = 2
    for i in range(50):
        parent = "%016x" % n
        n += 1
        start = now - 10 + i * 0.2
        docs.append(json.dumps({"type": "subsegment", "name": f"step-{i}", "id": parent, "parent_id": root["id"],
                                "trace_id": trace_id, "start_time": start, "end_time": start + 0.19}))
        for j in range(99):
            s = start + j * 0.0019
            docs.append(json.dumps({"type": "subsegment", "name": f"call-{i}-{j}", "id": "%016x" % n, "parent_id": parent,
                                    "trace_id": trace_id, "start_time": s, "end_time": s + 0.0015,
                                    "namespace": "remote" if j % 3 == 0 else None, "fault": j % 17 == 0}))
            n += 1
    return trace_id, docs


def many_traces(now: float, count: int = 1000) -> list[str]:
    docs = []
    for i in range(count):
        start = now - 3000 + i
        docs.append(json.dumps({
            "name": f"svc-{i % 7}", "id": "%016x" % (10_000 + i), "trace_id": "1-%08x-%024x" % (int(start), i),
            "start_time": start, "end_time": start + 0.01 * (i % 50 + 1), "user": f"user-{i % 13}",
            "annotations": {"customer": f"c-{i % 31}"}, "error": i % 11 == 0,
            "http": {"request": {"method": "GET", "url": f"http://shop.example.com/item/{i % 40}"},
                     "response": {"status": 404 if i % 11 == 0 else 200}}}))
    return docs


def measure(page: Any, url: str, name: str, ready: str, runs: int) -> tuple[list[float], list[float]]:
    inner, total = [], []
    for _ in range(runs):
        page.goto("about:blank")
        t0 = time.perf_counter()
        page.goto(url)
        page.wait_for_selector(f'#view[data-ready="{ready}"]', timeout=120_000)
        total.append(time.perf_counter() - t0)
        entries = page.evaluate(f"performance.getEntriesByName('{name}').map(e => e.duration)")
        inner.append(max(entries) / 1000)
    return inner, total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from fluoro.daemon.pipeline import PipelineConfig
    from fluoro.server import FluoroServer, ServerConfig
    from tests.server.helpers import xray_client

    chromium = os.environ.get("FLUORO_CHROMIUM", "/usr/bin/chromium")
    server = FluoroServer(ServerConfig(port=0, store="memory", log_level="warning", page_size=1000,
                                       pipeline=PipelineConfig(flush_interval=0.05))).start_in_thread()
    try:
        xray = xray_client(server.port)
        now = time.time()
        trace_id, docs = big_trace(now)
        for chunk in range(0, len(docs), 500):
            assert xray.put_trace_segments(TraceSegmentDocuments=docs[chunk:chunk + 500])["UnprocessedTraceSegments"] == []
        rows = many_traces(now)
        for chunk in range(0, len(rows), 500):
            assert xray.put_trace_segments(TraceSegmentDocuments=rows[chunk:chunk + 500])["UnprocessedTraceSegments"] == []
        base = f"http://127.0.0.1:{server.port}/"
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            tl_inner, tl_total = measure(page, base + f"#/trace/{trace_id}", "fluoro:timeline", "trace", args.runs)
            shown = int(page.locator("#timeline .tl-body").get_attribute("data-rows"))
            rows_inner, rows_total = measure(page, base + "#/traces?range=1h", "fluoro:rows", "traces", args.runs)
            listed = page.locator("#result-count").inner_text().split()[0]
            version = browser.version
            browser.close()
    finally:
        server.stop()
    print(f"machine: {machine()}; Chromium {version}; {args.runs} runs, median")
    print(f"timeline, {shown} rows (5,001 documents plus inferred segments; only the rows in view are in the DOM): render {statistics.median(tl_inner) * 1000:.0f} ms "
          f"(goal {TIMELINE_GOAL * 1000:.0f} ms, ratio {statistics.median(tl_inner) / TIMELINE_GOAL:.2f}); "
          f"navigation to timeline shown, BatchGetTraces included {statistics.median(tl_total) * 1000:.0f} ms")
    print(f"traces table, {listed} results (rows in view in the DOM): render {statistics.median(rows_inner) * 1000:.0f} ms "
          f"(goal {ROWS_GOAL * 1000:.0f} ms, ratio {statistics.median(rows_inner) / ROWS_GOAL:.2f}); "
          f"navigation to table shown, GetTraceSummaries included {statistics.median(rows_total) * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())

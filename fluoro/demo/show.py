"""Render traces read through the X-Ray API: a summary table and a segment timeline."""

from __future__ import annotations

import json
import time


def _client(endpoint: str):  # type: ignore[no-untyped-def]
    import boto3

    return boto3.client("xray", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="demo", aws_secret_access_key="demo")


def _bar(start: float, end: float, t0: float, span: float, width: int = 40) -> str:
    left = int((start - t0) / span * width) if span > 0 else 0
    length = max(1, int((end - start) / span * width)) if span > 0 else 1
    return " " * left + "█" * min(length, width - left)


def show_traces(console, endpoint: str, expected: int, run_id: str, wait: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    from rich.table import Table
    from rich.tree import Tree

    xray = _client(endpoint)
    now = time.time()
    summaries: list = []
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        summaries = xray.get_trace_summaries(StartTime=now - 600, EndTime=now + 60,
                                             FilterExpression='annotation.demo_run = "%s"' % run_id)["TraceSummaries"]
        if len(summaries) >= expected:
            break
        time.sleep(0.3)

    table = Table(title='GetTraceSummaries, filter annotation.demo_run = "%s" (%d traces)' % (run_id, len(summaries)))
    for column in ("trace id", "method", "url", "status", "response time", "fault", "annotations"):
        table.add_column(column)
    for s in summaries:
        http = s.get("Http", {})
        annotations = ", ".join("%s=%s" % (k, v[0]["AnnotationValue"].popitem()[1])
                                for k, v in s.get("Annotations", {}).items() if k != "demo_run")
        table.add_row(s["Id"], http.get("HttpMethod", ""), http.get("HttpURL", ""), str(http.get("HttpStatus", "")),
                      "%.3f s" % s.get("ResponseTime", 0), str(s.get("HasFault", False)), annotations)
    console.print(table)
    if not summaries:
        return

    faulty = [s for s in summaries if s.get("HasFault")] or summaries
    trace = xray.batch_get_traces(TraceIds=[faulty[0]["Id"]])["Traces"][0]
    docs = [json.loads(seg["Document"]) for seg in trace["Segments"]]
    roots = [d for d in docs if not d.get("parent_id")] or docs
    t0 = min(d["start_time"] for d in docs)
    span = max(d.get("end_time", d["start_time"]) for d in docs) - t0
    tree = Tree("BatchGetTraces %s  (%.3f s)" % (trace["Id"], trace.get("Duration", span)))

    def add(node, entity) -> None:  # type: ignore[no-untyped-def]
        status = "[red]fault" if entity.get("fault") else "[yellow]error" if entity.get("error") else "[green]ok"
        label = "%-28s %s %6.1f ms %s" % (entity["name"][:28], _bar(entity["start_time"], entity.get("end_time", entity["start_time"]), t0, span),
                                         (entity.get("end_time", entity["start_time"]) - entity["start_time"]) * 1000, status)
        if entity.get("inferred"):
            label += " [dim](inferred)"
        child = node.add(label)
        for sub in entity.get("subsegments", []):
            add(child, sub)

    for doc in sorted(roots, key=lambda d: d["start_time"]):
        add(tree, doc)
    for doc in docs:
        if doc in roots:
            continue
        add(tree, doc)
    console.print(tree)

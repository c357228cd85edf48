"""Terminal renderings of what the X-Ray console shows the article's reader: the trace
list, one trace's segment timeline, the trace map, and the three configurations side
by side. Everything is read back through the X-Ray API with boto3."""

from __future__ import annotations

import time
from typing import Any

from rich.markup import escape

from fluoro.local.trace_map import Node, documents, trace_graph

WIDTH = 36


def xray_client(endpoint: str) -> Any:
    import boto3

    return boto3.client("xray", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="demo", aws_secret_access_key="demo")


def wait_for_traces(xray: Any, trace_ids: list[str], complete: Any, timeout: float = 15.0) -> dict[str, list[dict]]:
    """BatchGetTraces (5 ids per call) until ``complete(docs)`` holds for every trace, or the deadline."""
    found: dict[str, list[dict]] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        missing = [t for t in trace_ids if t not in found or not complete(found[t])]
        if not missing:
            break
        for i in range(0, len(missing), 5):
            for trace in xray.batch_get_traces(TraceIds=missing[i:i + 5])["Traces"]:
                found[trace["Id"]] = documents(trace)
        time.sleep(0.2)
    return found


def _status(entity: dict[str, Any]) -> str:
    if entity.get("fault"):
        return "[red]fault[/]"
    if entity.get("throttle"):
        return "[magenta]throttle[/]"
    if entity.get("error"):
        return "[yellow]error[/]"
    return "[green]ok[/]"


def _bar(start: float, end: float, t0: float, span: float) -> str:
    left = min(WIDTH - 1, int((start - t0) / span * WIDTH)) if span > 0 else 0
    length = max(1, round((end - start) / span * WIDTH)) if span > 0 else 1
    return "[dim]" + "·" * left + "[/][cyan]" + "█" * min(length, WIDTH - left) + "[/]" + " " * max(0, WIDTH - left - length)


def _label(entity: dict[str, Any], t0: float, span: float, segment: bool) -> str:
    end = entity.get("end_time", entity["start_time"])
    name = entity["name"]
    kind = entity.get("origin") or entity.get("namespace") or ""
    text = "%s %7.1f ms %s  " % (_bar(entity["start_time"], end, t0, span), (end - entity["start_time"]) * 1000,
                                 _status(entity))
    text += ("[bold]%s[/]" % name) if segment else name
    if kind:
        text += " [dim]%s[/]" % kind
    if entity.get("inferred"):
        text += " [dim](inferred)[/]"
    if entity.get("in_progress"):
        text += " [yellow](in progress)[/]"
    exceptions = (entity.get("cause") or {}).get("exceptions") if isinstance(entity.get("cause"), dict) else None
    if exceptions:
        first = exceptions[0]
        frames = len(first.get("stack") or [])
        text += " [red]%s: %s[/]" % (escape(str(first.get("type", "?"))), escape(str(first.get("message", ""))[:80]))
        if frames:
            text += " [dim](stack: %d frames)[/]" % frames
    return text


def timeline(docs: list[dict[str, Any]], title: str) -> Any:
    """The console's segments timeline: every segment under the entity it was called from."""
    from rich.tree import Tree

    t0 = min(d["start_time"] for d in docs)
    span = max(d.get("end_time", d["start_time"]) for d in docs) - t0
    tree = Tree(title)
    nodes: dict[str, Any] = {}
    segments = [d for d in docs if d.get("type") != "subsegment"]

    def add(parent: Any, entity: dict[str, Any], segment: bool) -> None:
        node = parent.add(_label(entity, t0, span, segment))
        nodes[entity["id"]] = node
        for sub in sorted(entity.get("subsegments", []) or [], key=lambda s: s["start_time"]):
            add(node, sub, False)

    pending = sorted(docs, key=lambda d: d["start_time"])
    while pending:
        progress = False
        for doc in list(pending):
            parent = doc.get("parent_id")
            if parent in nodes:
                add(nodes[parent], doc, doc.get("type") != "subsegment")
            elif parent is None or not any(parent == d["id"] for d in docs) and doc.get("type") != "subsegment":
                add(tree, doc, True)
            else:
                continue
            pending.remove(doc)
            progress = True
        if not progress:  # subsegments whose parent never arrived: under the innermost enclosing segment
            doc = pending.pop(0)
            enclosing = [s for s in segments if s["id"] in nodes and not s.get("inferred")
                         and s["start_time"] <= doc["start_time"] <= s.get("end_time", float("inf"))]
            home = nodes[max(enclosing, key=lambda s: s["start_time"])["id"]] if enclosing else tree
            add(home, doc, False)
    return tree


def trace_map(docs: list[dict[str, Any]], title: str) -> Any:
    """The trace map as a tree from the client node along the edges."""
    from rich.tree import Tree

    nodes, edges = trace_graph(docs)
    tree = Tree(title)
    children: dict[Node, list[Node]] = {}
    for source, target in edges:
        children.setdefault(source, []).append(target)
    roots = sorted(n for n in nodes if n.type == "client")

    def add(parent: Any, node: Node, seen: frozenset[Node]) -> None:
        style = "dim" if node.type == "client" else "bold"
        branch = parent.add("[%s]%s[/] [dim]%s[/]" % (style, node.name, node.type))
        for child in sorted(children.get(node, [])):
            if child not in seen:
                add(branch, child, seen | {child})

    for root in roots:
        add(tree, root, frozenset({root}))
    return tree


def service_graph(xray: Any, start: float, end: float, ready: Any = None, timeout: float = 15.0) -> Any | None:
    """GetServiceGraph for the window, or None when the server does not offer it.

    The server rolls traces into the graph every few seconds, so with ``ready`` this
    asks again until ``ready(services)`` holds or the deadline passes."""
    from botocore.exceptions import ClientError

    deadline = time.monotonic() + timeout
    while True:
        try:
            services: list[dict[str, Any]] = []
            for page in xray.get_paginator("get_service_graph").paginate(StartTime=start, EndTime=end):
                services.extend(page.get("Services", []))
        except ClientError:
            return None
        if ready is None or ready(services) or time.monotonic() > deadline:
            return services
        time.sleep(0.5)


def service_map(services: list[dict[str, Any]], title: str, root_names: set[str] | None = None) -> Any:
    """A GetServiceGraph response as a tree from the root services along their edges, with counts
    (only from the roots called ``root_names`` when given, leaving other apps of the window out)."""
    from rich.tree import Tree

    by_ref = {s["ReferenceId"]: s for s in services}
    targets = {e["ReferenceId"] for s in services for e in s.get("Edges", [])}
    tree = Tree(title)

    def stats(summary: dict[str, Any] | None) -> str:
        if not summary:
            return ""
        faults = summary.get("FaultStatistics", {}).get("TotalCount", 0)
        errors = summary.get("ErrorStatistics", {}).get("TotalCount", 0)
        total = summary.get("TotalCount", 0)
        average = summary.get("TotalResponseTime", 0) / total * 1000 if total else 0.0
        text = " [dim]%d requests, avg %.0f ms[/]" % (total, average)
        if faults:
            text += " [red]%d faults[/]" % faults
        if errors:
            text += " [yellow]%d errors[/]" % errors
        throttles = summary.get("ErrorStatistics", {}).get("ThrottleCount", 0)
        if throttles:
            text += " [magenta](%d throttles)[/]" % throttles
        return text

    def add(parent: Any, service: dict[str, Any], via: dict[str, Any] | None, seen: frozenset[int]) -> None:
        branch = parent.add("[bold]%s[/] [dim]%s[/]%s" % (service.get("Name", "?"), service.get("Type", ""),
                                                           stats((via or {}).get("SummaryStatistics"))))
        for edge in service.get("Edges", []):
            child = by_ref.get(edge["ReferenceId"])
            if child is not None and edge["ReferenceId"] not in seen:
                add(branch, child, edge, seen | {edge["ReferenceId"]})

    roots = [s for s in services if s["ReferenceId"] not in targets] or services[:1]
    if root_names is not None:
        roots = [s for s in roots if s.get("Name") in root_names]
    for root in sorted(roots, key=lambda s: str(s.get("Name"))):
        add(tree, root, None, frozenset({root["ReferenceId"]}))
    return tree


def summaries_table(xray: Any, start: float, trace_ids: dict[str, str]) -> Any:
    """GetTraceSummaries over the demo's time window, as the console's trace list."""
    from rich.table import Table

    summaries: list[dict[str, Any]] = []
    for page in xray.get_paginator("get_trace_summaries").paginate(StartTime=start - 5, EndTime=time.time() + 5):
        summaries.extend(s for s in page["TraceSummaries"] if s["Id"] in trace_ids)
    table = Table(title="Traces (GetTraceSummaries), newest first")
    for column in ("trace id", "configuration", "method", "URL", "status", "response time", "fault"):
        table.add_column(column)
    for s in sorted(summaries, key=lambda s: s["Id"], reverse=True):
        http = s.get("Http", {})
        table.add_row(s["Id"], trace_ids[s["Id"]], http.get("HttpMethod", ""), http.get("HttpURL", ""),
                      str(http.get("HttpStatus", "")), "%.3f s" % s.get("ResponseTime", 0),
                      "[red]yes[/]" if s.get("HasFault") else "no")
    return table


def _count(entity: dict[str, Any]) -> int:
    return sum(1 + _count(s) for s in entity.get("subsegments", []) or [])


def comparison_table(results: list[tuple[str, str, list[dict[str, Any]]]]) -> Any:
    """The article's comparison: what each configuration's trace shows."""
    from rich.table import Table

    table = Table(title="The article's three configurations, one request each", show_lines=True)
    for column in ("configuration", "nodes in the trace map", "segment documents", "inside the function",
                   "the article reports"):
        table.add_column(column)
    for name, reported, docs in results:
        nodes, _ = trace_graph(docs)
        shown = "\n".join("%s [dim]%s[/]" % (n.name, n.type) for n in sorted(nodes, key=lambda n: n.type)
                          if n.type != "client")
        inside = sorted({s["name"] for d in docs if d.get("origin") == "AWS::Lambda::Function"
                         for s in d.get("subsegments", [])})
        sdk = sum(1 + _count(d) for d in docs if d.get("type") == "subsegment") + sum(
            _count(s) for d in docs if d.get("origin") == "AWS::Lambda::Function" for s in d.get("subsegments", []))
        inner = ", ".join(inside) if inside else "nothing"
        if sdk:
            inner += "\n+ %d SDK subsegments" % sdk
        table.add_row(name, shown, str(sum(1 for d in docs if d.get("type") != "subsegment")), inner, reported)
    return table


def sent_table(sent: list[Any]) -> Any:
    """What the demo app's request stream sent, by kind, with the statuses it got back."""
    from rich.table import Table

    from fluoro.demo.traffic import DESCRIPTIONS

    table = Table(title="The demo app's requests")
    for column in ("request", "sent", "statuses", "what it shows"):
        table.add_column(column)
    kinds: dict[str, list[int]] = {}
    for s in sent:
        kinds.setdefault(s.kind, []).append(s.status)
    for kind, statuses in kinds.items():
        first = next(s for s in sent if s.kind == kind)
        counted = ", ".join("%d x %d" % (statuses.count(code), code) for code in sorted(set(statuses)))
        table.add_row("%s %s" % (first.method, first.path if kind != "get" else "/users/{userId}"), str(len(statuses)),
                      counted, DESCRIPTIONS.get(kind, kind))
    return table


def filter_counts(xray: Any, window: tuple[float, float], expressions: list[str]) -> list[tuple[str, str]]:
    """How many traces of the window each filter expression selects (GetTraceSummaries)."""
    from botocore.exceptions import ClientError

    counts = []
    for expression in expressions:
        try:
            found = sum(len(page["TraceSummaries"]) for page in xray.get_paginator("get_trace_summaries").paginate(
                StartTime=window[0], EndTime=window[1], FilterExpression=expression))
            counts.append((expression, "%d traces" % found))
        except ClientError as exc:  # shown, not fatal: the reader sees what the server said
            counts.append((expression, str(exc)))
    return counts

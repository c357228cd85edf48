"""Root causes of one trace: the fault, error and response-time paths of GetTraceSummaries.

AWS publishes only the shapes, not the algorithm.  fluoro's rule:

- Fault (error): start at each top-most real segment that has the flag (the
  root segment first; a cause starting there is ``ClientImpacting``), then
  descend while some child has the flag, preferring downstream segments
  (real or inferred) over local subsegments, then the earliest.  The last
  entity's exceptions (``cause.exceptions``, or the entity an exception-id
  ``cause`` points at) are reported.
- Response time: start at the root segment and descend into the longest
  child while it covers more than half of the root's response time;
  ``Coverage`` = entity duration / root duration.

Entities are grouped into one ``Services`` entry per consecutive service.
"""

from __future__ import annotations

from typing import Any

from fluoro.query.assemble import Doc, has_flag
from fluoro.query.trace_nodes import TraceGraph

COVERAGE_THRESHOLD = 0.5


def _duration(entity: Doc) -> float | None:
    start, end = entity.get("start_time"), entity.get("end_time")
    if isinstance(start, (int, float)) and isinstance(end, (int, float)) and not isinstance(end, bool):
        return float(end) - float(start)
    return None


def _children(graph: TraceGraph, entity: Doc) -> list[tuple[bool, Doc]]:
    """(is a downstream segment, child) for every child of ``entity``."""
    out: list[tuple[bool, Doc]] = []
    subs = entity.get("subsegments")
    if isinstance(subs, list):
        out.extend((False, s) for s in subs if isinstance(s, dict))
    entity_id = entity.get("id")
    if isinstance(entity_id, str):
        out.extend((True, s) for s in graph.callees.get(entity_id, ()))
    return out


def _start(doc: Doc) -> float:
    value = doc.get("start_time")
    return float(value) if isinstance(value, (int, float)) else 0.0


def _remote(entity: Doc) -> bool:
    if entity.get("inferred") is True or entity.get("namespace") in ("aws", "remote"):
        return True
    cause = entity.get("cause")
    exceptions = cause.get("exceptions") if isinstance(cause, dict) else None
    return isinstance(exceptions, list) and any(isinstance(e, dict) and e.get("remote") is True for e in exceptions)


def _exceptions(graph: TraceGraph, entity: Doc) -> list[dict[str, str]]:
    cause = entity.get("cause")
    if isinstance(cause, str):  # an exception id recorded on another entity
        for other in graph.by_id.values():
            other_cause = other.get("cause")
            if isinstance(other_cause, dict):
                for exc in other_cause.get("exceptions") or ():
                    if isinstance(exc, dict) and exc.get("id") == cause:
                        return [_exception(exc)]
        return []
    if not isinstance(cause, dict) or not isinstance(cause.get("exceptions"), list):
        return []
    return [_exception(e) for e in cause["exceptions"] if isinstance(e, dict)]


def _exception(exc: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    name = exc.get("type") if isinstance(exc.get("type"), str) else exc.get("name")
    if isinstance(name, str):
        out["Name"] = name
    if isinstance(exc.get("message"), str):
        out["Message"] = exc["message"]
    return out


def _services(graph: TraceGraph, path: list[Doc], entry: Any) -> list[dict[str, Any]]:
    services: list[dict[str, Any]] = []
    current: Doc | None = None
    for entity in path:
        owner = graph.owner_of(entity)
        if owner is not current:
            current = owner
            service = graph.node_of(owner).as_service_id()
            service["EntityPath"] = []
            service["Inferred"] = owner.get("inferred") is True
            services.append(service)
        item: dict[str, Any] = {"Name": str(entity.get("name", ""))}
        item.update(entry(entity))
        services[-1]["EntityPath"].append(item)
    return services


def _flag_path(graph: TraceGraph, start: Doc, flag: str) -> list[Doc]:
    path = [start]
    entity = start
    while True:
        flagged = [(down, c) for down, c in _children(graph, entity) if has_flag(c, flag)]
        if not flagged:
            return path
        flagged.sort(key=lambda dc: (not dc[0], _start(dc[1])))
        entity = flagged[0][1]
        if entity in path:  # malformed parent links
            return path
        path.append(entity)


def flag_causes(graph: TraceGraph, root: Doc | None, flag: str) -> list[dict[str, Any]]:
    starts = [s for s in graph.segments if not s.get("inferred") and has_flag(s, flag)]
    top = []
    for segment in starts:
        parent = graph.by_id.get(segment.get("parent_id") or "")
        if parent is not None and has_flag(graph.owner_of(parent), flag):
            continue  # below a flagged caller segment: part of that caller's path
        top.append(segment)
    top.sort(key=lambda s: (s is not root, _start(s)))
    causes = []
    for segment in top:
        path = _flag_path(graph, segment, flag)
        last = path[-1]

        def entry(entity: Doc, last: Doc = last) -> dict[str, Any]:
            out: dict[str, Any] = {}
            if entity is last:
                out["Exceptions"] = _exceptions(graph, entity)
            out["Remote"] = _remote(entity)
            return out

        causes.append({"Services": _services(graph, path, entry), "ClientImpacting": segment is root})
    return causes


def response_time_causes(graph: TraceGraph, root: Doc | None) -> list[dict[str, Any]]:
    total = _duration(root) if root is not None else None
    if root is None or total is None or total <= 0:
        return []
    path = [root]
    entity = root
    while True:
        timed = [(d, c) for _, c in _children(graph, entity) if (d := _duration(c)) is not None]
        if not timed:
            break
        best_duration, best = max(timed, key=lambda dc: (dc[0], -_start(dc[1])))
        if best_duration / total <= COVERAGE_THRESHOLD or best in path:
            break
        path.append(best)
        entity = best

    def entry(entity: Doc) -> dict[str, Any]:
        duration = _duration(entity) or 0.0
        return {"Coverage": round(duration / total, 3), "Remote": _remote(entity)}

    return [{"Services": _services(graph, path, entry), "ClientImpacting": True}]


def root_causes(graph: TraceGraph, root: Doc | None) -> dict[str, list[dict[str, Any]]]:
    return {
        "FaultRootCauses": flag_causes(graph, root, "fault"),
        "ErrorRootCauses": flag_causes(graph, root, "error"),
        "ResponseTimeRootCauses": response_time_causes(graph, root),
    }

"""The query service between API handlers and a store: validates, pages, assembles.

Backend-neutral: it speaks ``fluoro.store.api`` and returns botocore-shaped
dicts.  Client mistakes raise ``InvalidQuery`` with the message the API sends.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections import defaultdict
from dataclasses import replace
from typing import Any

from fluoro.query.assemble import Trace, assemble
from fluoro.query.filters import FilterError, parse
from fluoro.query.filters.ast import Node, split
from fluoro.query.filters.evaluate import TraceView, matches
from fluoro.query.filters.narrow import narrowing
from fluoro.query.filters.parser import GroupResolver
from fluoro.query.summaries import summarize
from fluoro.query.summary_pool import SummaryPool, summary_of
from fluoro.store.api import (
    FilterUnsupported,
    StoredDocument,
    TimeRangeType,
    TraceHit,
    TracePage,
    TraceQuery,
    TraceReader,
)

MAX_BATCH_IDS = 5
_TRACE_ID_CHARS = frozenset("0123456789abcdef")


def _summary(trace: Trace | TraceView, matched_event_time: float | None) -> dict[str, Any]:
    """A summary; a trace a filter evaluated lends the trace graph it built."""
    if isinstance(trace, TraceView):
        graph = trace.__dict__.get("graph")  # cached_property: present only if the filter built it
        return summarize(trace.trace, matched_event_time, graph)
    return summarize(trace, matched_event_time)


class InvalidQuery(ValueError):
    """A client mistake; the API answers InvalidRequestException with this message."""


def _valid_trace_id(value: Any) -> bool:
    if not isinstance(value, str) or len(value) != 35 or value[0:2] != "1-" or value[10] != "-":
        return False
    return set(value[2:10] + value[11:]) <= _TRACE_ID_CHARS


def _number(body: dict[str, Any], key: str) -> float:
    value = body.get(key)
    if value is None:
        raise InvalidQuery(f"{key} is required")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidQuery(f"{key} must be a timestamp in epoch seconds")
    return float(value)


class QueryService:
    def __init__(
        self,
        reader: TraceReader,
        page_size: int = 100,
        max_window: float | None = None,
        groups: GroupResolver | None = None,
        scan_budget: int = 1000,
        summary_pool: SummaryPool | None = None,
    ) -> None:
        self.reader = reader
        # Computes a page's summaries on more than one core (the server has one).
        self.summary_pool = summary_pool
        self.page_size = page_size
        self.max_window = max_window
        # ("name" | "arn", value) -> a group's filter expression, for group.name / group.arn.
        self.groups = groups
        # Traces a filter the store cannot evaluate may examine per call; past it the page
        # comes back short, with a NextToken, as X-Ray's own pages may.
        self.scan_budget = scan_budget

    def parse_filter(self, text: Any) -> Node | None:
        """Parse a filter expression or raise ``InvalidQuery`` naming the mistake and its position."""
        if not isinstance(text, str):
            raise InvalidQuery("FilterExpression must be a string")
        try:
            return parse(text, self.groups)
        except FilterError as exc:
            raise InvalidQuery(f"Invalid filter expression: {exc}") from None

    def batch_get_traces(self, body: dict[str, Any]) -> dict[str, Any]:
        ids = body.get("TraceIds")
        if body.get("NextToken"):
            raise InvalidQuery("NextToken is currently not supported")
        if not isinstance(ids, list):
            raise InvalidQuery("TraceIds is required and must be a list of trace ids")
        if len(ids) > MAX_BATCH_IDS:
            raise InvalidQuery(f"Exceeding maximum query size: {MAX_BATCH_IDS}")
        if len(set(map(str, ids))) != len(ids):
            raise InvalidQuery("Containing duplicate trace ids")
        for trace_id in ids:
            if not _valid_trace_id(trace_id):
                raise InvalidQuery(f"Invalid trace id {trace_id}: incorrect id format")
        by_trace = self._documents(ids)
        traces, missing = [], []
        for trace_id in ids:
            if trace_id not in by_trace:
                missing.append(trace_id)
                continue
            trace = assemble(trace_id, by_trace[trace_id])
            traces.append({
                "Id": trace_id, "Duration": trace.duration,
                "LimitExceeded": trace.limit_exceeded, "Segments": trace.entries(),
            })  # fmt: skip
        return {"Traces": traces, "UnprocessedTraceIds": missing}

    def get_trace_summaries(self, body: dict[str, Any]) -> dict[str, Any]:
        start, end = _number(body, "StartTime"), _number(body, "EndTime")
        if end < start:
            raise InvalidQuery("EndTime must not be before StartTime")
        if self.max_window is not None and end - start > self.max_window:
            raise InvalidQuery(f"The time range may not exceed {self.max_window:g} seconds")
        try:
            range_type = TimeRangeType(body.get("TimeRangeType") or "TraceId")
        except ValueError:
            raise InvalidQuery("TimeRangeType must be one of TraceId, Event, Service") from None
        text = body.get("FilterExpression") or ""
        node = self.parse_filter(text)
        capabilities = self.reader.capabilities()
        pushed, residual = split(node, capabilities.filter_nodes)
        rate = self._sampling_rate(body, range_type)
        fingerprint = hashlib.sha1(json.dumps([start, end, range_type.value, text]).encode()).hexdigest()[:12]
        after = self._decode_token(body.get("NextToken"), fingerprint)
        narrow = narrowing(residual) if capabilities.narrows else None
        query = TraceQuery(start, end, range_type, pushed, self.page_size, after, narrow)
        if residual is None:
            # The store evaluated the whole filter: a page of hits, their documents, summaries
            # (on two cores when there is a summary pool).
            page = self._find(query)
            hits, processed = self._sampled(page.hits, rate), page.processed
            more = page.hits[-1] if (page.more and page.hits) else None
            by_trace = self._documents([h.trace_id for h in hits])
            items = [(h.trace_id, by_trace[h.trace_id], h.matched_event_time) for h in hits if h.trace_id in by_trace]
            summaries = self.summary_pool.summaries(items) if self.summary_pool else [summary_of(*i) for i in items]
        else:
            # Evaluated here: the traces are assembled already, and summarizing them here (with
            # whatever the filter built) measured faster than sending part to the helper.
            hits, traces, processed, more = self._search(query, residual)
            hits = self._sampled(hits, rate)
            summaries = [_summary(traces[h.trace_id], h.matched_event_time) for h in hits if h.trace_id in traces]
        out: dict[str, Any] = {
            "TraceSummaries": summaries,
            "ApproximateTime": more.sort_time if more else start,
            "TracesProcessedCount": processed,
        }
        if more is not None:
            out["NextToken"] = self._encode_token(more.sort_time, more.trace_id, fingerprint)
        return out

    @staticmethod
    def _sampled(hits: list[TraceHit], rate: float | None) -> list[TraceHit]:
        if rate is None:
            return hits
        return [h for h in hits if int(hashlib.sha1(h.trace_id.encode()).hexdigest()[:8], 16) < rate * 2**32]

    def _documents(self, trace_ids: list[str]) -> dict[str, list[StoredDocument]]:
        by_trace: dict[str, list[StoredDocument]] = defaultdict(list)
        for stored in self.reader.documents(trace_ids):
            by_trace[stored.trace_id].append(stored)
        return by_trace

    def _search(
        self, query: TraceQuery, residual: Node
    ) -> tuple[list[TraceHit], dict[str, Trace | TraceView], int, TraceHit | None]:
        """Matching hits of one page, their traces, traces processed, and where the next page resumes.

        The store evaluates ``query.filter``; ``residual`` (what it cannot) is evaluated
        here on assembled candidates, a batch at a time, within ``scan_budget``.  The
        store has already dropped candidates ``query.narrow`` rules out.
        """
        # One store query for every candidate the budget allows (the cost is the scan, not
        # the limit), then documents and evaluation a chunk at a time until the page is full.
        page = self._find(replace(query, limit=max(self.scan_budget, 1)))
        hits: list[TraceHit] = []
        traces: dict[str, Trace | TraceView] = {}
        chunk = max(self.page_size, 100)
        for begin in range(0, len(page.hits), chunk):
            candidates = page.hits[begin : begin + chunk]
            by_trace = self._documents([h.trace_id for h in candidates])
            for i, hit in enumerate(candidates):
                docs = by_trace.get(hit.trace_id)
                view = TraceView(assemble(hit.trace_id, docs)) if docs else None
                if view is not None and matches(residual, view):
                    hits.append(hit)
                    traces[hit.trace_id] = view
                    if len(hits) >= self.page_size:
                        remaining = begin + i + 1 < len(page.hits) or page.more
                        return hits, traces, page.processed, hit if remaining else None
        last = page.hits[-1] if (page.more and page.hits) else None
        return hits, traces, page.processed, last

    def _find(self, query: TraceQuery) -> TracePage:
        try:
            return self.reader.find_traces(query)
        except FilterUnsupported as exc:
            raise InvalidQuery(f"Invalid filter expression: {exc} is not supported") from None

    @staticmethod
    def _sampling_rate(body: dict[str, Any], range_type: TimeRangeType) -> float | None:
        if body.get("Sampling") is not True:
            return None
        strategy = body.get("SamplingStrategy") or {}
        if not isinstance(strategy, dict):
            raise InvalidQuery("SamplingStrategy must be an object")
        name = strategy.get("Name", "PartialScan")
        if name not in ("PartialScan", "FixedRate"):
            raise InvalidQuery("SamplingStrategy.Name must be PartialScan or FixedRate")
        value = strategy.get("Value")
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1
        ):
            raise InvalidQuery("sampling rate must be specified and its value must be between [0, 1]")
        if name == "FixedRate":
            if range_type is not TimeRangeType.EVENT:
                raise InvalidQuery(
                    f"Cannot use FixedRate with input time range type: {range_type.value}. "
                    "Please try using time range type: Event"
                )
            if value is None:
                raise InvalidQuery("sampling rate must be specified and its value must be between [0, 1]")
            return float(value)
        return None

    @staticmethod
    def _encode_token(sort_time: float, trace_id: str, fingerprint: str) -> str:
        raw = json.dumps([sort_time, trace_id, fingerprint]).encode()
        return base64.urlsafe_b64encode(raw).decode()

    @staticmethod
    def _decode_token(token: Any, fingerprint: str) -> tuple[float, str] | None:
        if not token:
            return None
        try:
            sort_time, trace_id, fp = json.loads(base64.urlsafe_b64decode(str(token).encode()))
            if fp != fingerprint:
                raise InvalidQuery("NextToken does not belong to this query")
            return float(sort_time), str(trace_id)
        except InvalidQuery:
            raise
        except Exception:
            raise InvalidQuery("Invalid NextToken") from None

"""The background service-graph rollup: keeps per-minute node/edge statistics current.

Traces arrive piecewise (a caller's segment, then its callee's seconds
later; Lambda streams subsegments one by one; in-progress versions get
replaced).  So the rollup never counts documents, it counts traces: every
``interval`` seconds it asks the store which traces received documents
since its cursor, reassembles each of them whole, and replaces that trace's
previous contribution with the new one (``GraphStore.graph_replace``).  A
trace that keeps changing is recomputed once per cycle it changes in; a
late callee turns the inferred node it replaces into a real one, counted
once.  The cursor is stored with the rows, so a restart resumes where it
left off and a crash mid-cycle only repeats work.  With the graph rows it
writes each trace's node facts (``fluoro.query.node_facts``), which searches
use to narrow ``service()``/``edge()`` candidates; the trace is assembled once
for both.

The graph therefore lags ingestion by up to one ``interval`` plus the
cycle's duration; ``run_once`` lets tests and benchmarks catch up at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from typing import Callable, Protocol, Sequence

from fluoro.background import lower_thread_priority
from fluoro.query.assemble import assemble, walk
from fluoro.query.graph import rows_for
from fluoro.query.node_facts import OPAQUE, node_facts
from fluoro.query.nodes import LinkResolver, NodeKey, segment_node, trace_graph
from fluoro.query.service import _valid_trace_id
from fluoro.store.api import GraphRow, GraphStore, NodeFact, StoredDocument, TraceReader

log = logging.getLogger("fluoro.graph")


class RollupStore(GraphStore, TraceReader, Protocol):
    pass


def store_link_resolver(reader: TraceReader) -> LinkResolver:
    """Names the node of a linked document by reading its trace (cached per resolver)."""
    cache: dict[tuple[str, str], NodeKey | None] = {}

    def resolve(trace_id: str, entity_id: str) -> NodeKey | None:
        if (trace_id, entity_id) not in cache:
            docs = reader.documents([trace_id]) if _valid_trace_id(trace_id) else []
            found = None
            if docs:
                for segment in assemble(trace_id, docs).segments:
                    if not segment.get("inferred") and any(e.get("id") == entity_id for e in walk(segment)):
                        found = segment_node(segment)
                        break
            cache[(trace_id, entity_id)] = found
        return cache[(trace_id, entity_id)]

    return resolve


def trace_outputs(
    trace_id: str, docs: Sequence[StoredDocument], resolve_link: LinkResolver | None = None
) -> tuple[list[GraphRow], list[NodeFact]]:
    """The trace's graph rows and node facts, from one assembly.

    Facts first: ``trace_graph`` and ``build`` only read the documents, but the facts
    must describe exactly what a search's fresh assembly will show.  A trace whose facts
    cannot be computed gets the opaque fact (always a search candidate).
    """
    trace = assemble(trace_id, docs)
    try:
        facts = node_facts(trace)
    except Exception:
        log.exception("node facts: trace %s left unnarrowed", trace_id)
        facts = [OPAQUE]
    return rows_for(trace_graph(trace.segments, resolve_link)), facts


class GraphRollup:
    def __init__(
        self,
        store: RollupStore,
        interval: float = 2.0,
        batch_traces: int = 2000,
        max_busy: float = 0.25,
        compute_traces: int | None = None,
        span_traces: int = 20_000,
        host_busy: Callable[[], bool] | None = None,
        max_pause: float = 10.0,
        pass_for: float = 0.5,
    ) -> None:
        self.store = store
        self.interval = interval
        # Traces per ``graph_replace``: each is one transaction of nine statements whose cost
        # is mostly per statement, so larger batches cost far less per trace.
        self.batch_traces = batch_traces
        # Traces assembled per stretch of Python (at most ``batch_traces``): the GIL is held
        # throughout, so the server keeps these small; the pacing sleep comes after each.
        self.compute_traces = min(batch_traces, compute_traces or batch_traces)
        # In the background, the share of wall time the rollup may keep busy.  It is Python
        # holding the GIL: unchecked, a backlog starves the ingest threads of the same process
        # and the UDP receiver's batches pile up (datagrams lost).  The map lags instead.
        self.max_busy = max_busy
        # Traces asked of ``graph_changes`` at a time (roughly: a backend may list more).
        self.span_traces = span_traces
        # In the background, cycles pause while this says the host's CPUs are saturated
        # (fluoro.background.HostBusy): at ~5,000 traces/s the rollup cannot keep up with a
        # saturating ingest anyway, and every CPU second it takes there is taken from receiving.
        # Never for more than ``max_pause`` seconds in a row: then it runs (paced) for
        # ``pass_for`` seconds, so the map still moves on a host that stays saturated.
        self.host_busy = host_busy
        self.max_pause = max_pause
        self.pass_for = pass_for
        self._busy_since: float | None = None
        self._pass_until = 0.0
        self._stop = threading.Event()
        self._lock = threading.Lock()  # one cycle at a time (background thread or run_once)
        self._thread: threading.Thread | None = None
        self.traces_rolled = 0

    def run_once(self, paced: bool = False) -> int:
        """Roll up everything written so far; returns the number of traces recomputed.

        Traces come ordered by their latest write, so after each batch the
        cursor can move to just before the first trace not yet done: a stop
        or crash mid-cycle resumes there (work computed but not yet written is
        simply done again), and a long backlog (first start on an old file)
        does not hold up shutdown.
        """
        with self._lock:
            done = 0
            while not self._stop.is_set() and not (paced and self._yielding()):
                # A span at a time: a backlog (a rollup far behind ingest, an old file) listed at
                # once held the GIL for seconds and hundreds of MB (1.1 M traces: 2.6 s, +400 MB).
                changed = self.store.graph_changes(self.store.graph_cursor(), self.span_traces)
                if not changed:
                    break
                done += self._roll(changed, paced)
            self.traces_rolled += done
            return done

    def _roll(self, changed: list[tuple[str, int]], paced: bool) -> int:
        """Recompute the ``changed`` traces, moving the cursor along; returns how many were written."""
        done = 0
        rows: dict[str, list[GraphRow]] = {}
        facts: dict[str, list[NodeFact]] = {}
        for start in range(0, len(changed), self.compute_traces):
            if self._stop.is_set() or (paced and self._yielding()):
                break  # what was computed but not written is computed again next time
            began = time.monotonic()
            chunk = [tid for tid, _ in changed[start : start + self.compute_traces]]
            by_trace: dict[str, list[StoredDocument]] = defaultdict(list)
            for stored in self.store.documents(chunk):
                by_trace[stored.trace_id].append(stored)
            resolve = store_link_resolver(self.store)
            for tid in chunk:
                rows[tid], facts[tid] = self._outputs_or_none(tid, by_trace[tid], resolve)
            rest = start + len(chunk)
            if len(rows) >= self.batch_traces or rest >= len(changed):
                cursor = changed[-1][1] if rest >= len(changed) else changed[rest][1] - 1
                self.store.graph_replace(rows, cursor, facts)
                done += len(rows)
                rows, facts = {}, {}
            if paced and 0 < self.max_busy < 1:
                self._stop.wait((time.monotonic() - began) * (1 / self.max_busy - 1))
        return done

    def _yielding(self) -> bool:
        if self.host_busy is None:
            return False
        now = time.monotonic()
        if now < self._pass_until:
            return False
        if not self.host_busy():
            self._busy_since = None
            return False
        if self._busy_since is None:
            self._busy_since = now
        if now - self._busy_since >= self.max_pause:
            self._busy_since = None
            self._pass_until = now + self.pass_for
            return False
        return True

    @staticmethod
    def _outputs_or_none(
        trace_id: str, docs: Sequence[StoredDocument], resolve: LinkResolver
    ) -> tuple[list[GraphRow], list[NodeFact]]:
        """One unexpected document must not stall the rollup forever: it drops out of the
        graph, and its trace is never narrowed away (opaque facts)."""
        try:
            return trace_outputs(trace_id, docs, resolve)
        except Exception:
            log.exception("service graph: trace %s skipped", trace_id)
            return [], [OPAQUE]

    def _loop(self) -> None:
        # Below the writer's (fluoro.server runs it at +3): under saturation the map lags.
        lower_thread_priority(7)
        while not self._stop.wait(self.interval):
            try:
                self.run_once(paced=True)
            except Exception:  # the server outlives a failing cycle; the next one retries
                log.exception("service-graph rollup failed")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="fluoro-graph-rollup", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop after the batch in progress (the cursor keeps the rest for the next start)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

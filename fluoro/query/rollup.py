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
left off and a crash mid-cycle only repeats work.

The graph therefore lags ingestion by up to one ``interval`` plus the
cycle's duration; ``run_once`` lets tests and benchmarks catch up at once.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from typing import Protocol, Sequence

from fluoro.query.assemble import assemble
from fluoro.query.graph import rows_for
from fluoro.query.nodes import trace_graph
from fluoro.store.api import GraphRow, GraphStore, StoredDocument, TraceReader

log = logging.getLogger("fluoro.graph")


class RollupStore(GraphStore, TraceReader, Protocol):
    pass


def trace_rows(trace_id: str, docs: Sequence[StoredDocument]) -> list[GraphRow]:
    return rows_for(trace_graph(assemble(trace_id, docs).segments))


class GraphRollup:
    def __init__(self, store: RollupStore, interval: float = 2.0, batch_traces: int = 2000) -> None:
        self.store = store
        self.interval = interval
        self.batch_traces = batch_traces
        self._stop = threading.Event()
        self._lock = threading.Lock()  # one cycle at a time (background thread or run_once)
        self._thread: threading.Thread | None = None
        self.traces_rolled = 0

    def run_once(self) -> int:
        """Roll up everything written so far; returns the number of traces recomputed."""
        with self._lock:
            cursor = self.store.graph_cursor()
            ids, new_cursor = self.store.graph_changes(cursor)
            if new_cursor == cursor:
                return 0
            done = 0
            for start in range(0, len(ids), self.batch_traces):
                chunk = ids[start : start + self.batch_traces]
                by_trace: dict[str, list[StoredDocument]] = defaultdict(list)
                for stored in self.store.documents(chunk):
                    by_trace[stored.trace_id].append(stored)
                rows = {tid: trace_rows(tid, by_trace[tid]) for tid in chunk}
                last = start + self.batch_traces >= len(ids)
                # The cursor moves only with the last chunk: a crash before it repeats the cycle.
                self.store.graph_replace(rows, new_cursor if last else cursor)
                done += len(chunk)
            self.traces_rolled += done
            return done

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.run_once()
            except Exception:  # the server outlives a failing cycle; the next one retries
                log.exception("service-graph rollup failed")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="fluoro-graph-rollup", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

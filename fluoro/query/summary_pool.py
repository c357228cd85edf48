"""A page of trace summaries computed on two cores: part in a helper process, the rest here.

Assembling a trace and summarizing it is pure Python (about 0.1-0.2 ms a
trace), so a page of 100 holds the GIL for 10-20 ms: the largest part of a
GetTraceSummaries call.  With one helper process the page is split and both
parts run at once.  The calling thread itself writes the helper's share to
its pipe before computing its own (``ProcessPoolExecutor`` hands work over on
a feeder thread, which waits for the GIL the caller holds, so the helper only
started once the caller was done).  The helper receives stored documents and
returns finished summaries; it shares nothing else with the server, so it can
crash or be killed without harm: what it did not return is computed here, and
after a pause a new helper is started.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import pickle
import threading
import time
from multiprocessing.connection import Connection
from typing import Any, Sequence

from fluoro.query.assemble import assemble
from fluoro.query.summaries import summarize
from fluoro.store.api import StoredDocument

log = logging.getLogger("fluoro.query")

# (trace id, its stored documents, MatchedEventTime or None)
Item = tuple[str, Sequence[StoredDocument], float | None]
_Wire = tuple[str, list[tuple[str, str, bool, float, bytes]], float | None]

# Below this many traces the hand-off costs more than it saves.
MIN_SPLIT = 8
# A helper that has not answered by then is presumed stuck; its share is computed here.
TIMEOUT = 10.0
# After a helper failed, pages are computed here alone this long before a new one is tried
# (a helper that cannot start must not cost every search a process start).
RETRY_AFTER = 30.0
# The helper's share of a page: it also pays for the hand-off, so a little under half.
HELPER_SHARE = 0.45


def summary_of(trace_id: str, docs: Sequence[StoredDocument], matched_event_time: float | None) -> dict[str, Any]:
    return summarize(assemble(trace_id, docs), matched_event_time)


def _serve(conn: Connection) -> None:
    """The helper process: pages in, summaries out, until the server closes the pipe."""
    while True:
        try:
            items: list[_Wire] = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):
            return
        try:
            out: Any = [summary_of(t, [StoredDocument(*d) for d in docs], met) for t, docs, met in items]
        except Exception as exc:  # the server computes this share itself
            out = exc
        conn.send_bytes(pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL))


class _Helper:
    def __init__(self) -> None:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child,), name="fluoro-summaries", daemon=True)
        self.process.start()
        child.close()

    def close(self) -> None:
        self.conn.close()
        self.process.join(1.0)
        if self.process.is_alive():
            self.process.kill()


class SummaryPool:
    """``summaries(items)`` = ``[summary_of(*item) for item in items]``, on ``1 + workers`` cores."""

    def __init__(self, workers: int = 1) -> None:
        self.workers = workers
        self._helpers: list[_Helper] | None = None
        self._lock = threading.Lock()  # one page at a time uses the helpers; others compute here
        self._closed = False
        self._retry_at = 0.0

    def start(self) -> None:
        """Start the helpers now (a server calls this at start, so no search waits for one)."""
        with self._lock:
            self._ensure()

    def _ensure(self) -> list[_Helper] | None:
        if self._closed or self.workers <= 0 or time.monotonic() < self._retry_at:
            return None
        if self._helpers is None:
            try:
                self._helpers = [_Helper() for _ in range(self.workers)]
            except Exception:
                log.warning("could not start a summary helper; computing here", exc_info=True)
                self._retry_at = time.monotonic() + RETRY_AFTER
        return self._helpers

    def _discard(self) -> None:
        helpers, self._helpers = self._helpers, None
        self._retry_at = time.monotonic() + RETRY_AFTER
        for helper in helpers or ():
            helper.close()

    def summaries(self, items: Sequence[Item]) -> list[dict[str, Any]]:
        if len(items) < MIN_SPLIT or not self._lock.acquire(blocking=False):
            return [summary_of(*item) for item in items]
        try:
            helpers = self._ensure()
            if helpers is None:
                return [summary_of(*item) for item in items]
            return self._split(helpers, items)
        finally:
            self._lock.release()

    def _split(self, helpers: list[_Helper], items: Sequence[Item]) -> list[dict[str, Any]]:
        share = int(len(items) * HELPER_SHARE * len(helpers) / (len(helpers) * HELPER_SHARE + 1 - HELPER_SHARE))
        remote, local = items[:share], items[share:]
        parts = [list(remote[i :: len(helpers)]) for i in range(len(helpers))]
        sent: list[bool] = []
        for helper, part in zip(helpers, parts):
            wire = [(t, [(d.trace_id, d.id, d.in_progress, d.received, d.doc) for d in docs], met)
                    for t, docs, met in part]  # fmt: skip
            try:
                helper.conn.send_bytes(pickle.dumps(wire, protocol=pickle.HIGHEST_PROTOCOL))
                sent.append(True)
            except (OSError, ValueError):
                sent.append(False)
        mine = [summary_of(*item) for item in local]
        failed = False
        theirs: list[list[dict[str, Any]]] = []
        for helper, part, ok in zip(helpers, parts, sent):
            done: Any = None
            if ok and not failed:
                try:
                    if helper.conn.poll(TIMEOUT):
                        done = pickle.loads(helper.conn.recv_bytes())
                except (EOFError, OSError):
                    done = None
            if not isinstance(done, list) or len(done) != len(part):
                if not failed:
                    log.warning("summary helper failed (%r); computing its share here", done)
                failed = True
                done = [summary_of(*item) for item in part]
            theirs.append(done)
        if failed or not all(sent):
            self._discard()  # a helper that missed an answer may still send it: never reuse its pipe
        merged: list[dict[str, Any]] = [{}] * len(remote)
        for i, done in enumerate(theirs):
            merged[i :: len(helpers)] = done
        return merged + mine

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._discard()

"""Background refresh of the centralized rules: at start, then every 5 minutes (+ jitter)."""

from __future__ import annotations

import logging
import threading
from random import Random

from . import _clock

TYPE_CHECKING = False  # typing is not imported at runtime (import cost)
if TYPE_CHECKING:
    from .connector import ServiceConnector
    from .rule_cache import RuleCache

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 5 * 60  # seconds between GetSamplingRules calls
JITTER = 5  # up to 5 s, so a fleet started together spreads its calls out


class RulePoller:
    """Daemon thread fetching rules into the ``RuleCache``; ``wake_up()`` forces a fetch now."""

    def __init__(self, cache: RuleCache, connector: ServiceConnector) -> None:
        self._cache = cache
        self._connector = connector
        self._random = Random()
        self._interval: float = DEFAULT_INTERVAL
        self._time_to_wait: float = 0
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        # Fresh events per thread: a stopped thread can never be revived (or have its
        # wake-up swallowed) by a later start().
        self._stopped = stopped = threading.Event()
        self._wake = wake = threading.Event()
        thread = threading.Thread(
            target=self._worker, args=(stopped, wake), name="fluoro-sampling-rules", daemon=True
        )
        self._thread = thread
        thread.start()

    def stop(self) -> None:
        """End the polling thread (tests, shutdown); not in upstream."""
        self._stopped.set()
        self._wake.set()

    def wake_up(self) -> None:
        """Fetch rules now regardless of the interval (used by ``TargetPoller``)."""
        self._wake.set()

    def _worker(self, stopped: threading.Event | None = None, wake: threading.Event | None = None) -> None:
        stopped = stopped or self._stopped
        wake = wake or self._wake
        while not stopped.is_set():
            wake.clear()
            self._refresh_cache()
            self._reset_time_to_wait()
            wake.wait(self._time_to_wait)

    def _refresh_cache(self) -> None:
        connector = self._connector
        now = int(_clock.now())
        try:
            new_rules = connector.fetch_sampling_rules()
        except Exception as exc:
            connector._record_failure("polling sampling rules", exc)
            return
        connector._record_success()
        if not new_rules:
            return
        try:
            self._cache.load_rules(new_rules)
            self._cache.last_updated = now
        except Exception:
            log.error("Encountered an issue while loading sampling rules.", exc_info=True)

    def _reset_time_to_wait(self) -> None:
        self._time_to_wait = self._interval + self._random.random() * JITTER

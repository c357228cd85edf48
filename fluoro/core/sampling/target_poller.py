"""Background reporting of rule statistics and fetching of quotas, every 10 s (+ jitter)."""

from __future__ import annotations

import logging
import threading
from random import Random

TYPE_CHECKING = False  # typing is not imported at runtime (import cost)
if TYPE_CHECKING:
    from .connector import ServiceConnector
    from .rule_cache import RuleCache
    from .rule_poller import RulePoller
    from .sampling_rule import SamplingRule

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 10  # seconds between GetSamplingTargets calls


class TargetPoller:
    """Daemon thread sending ``SamplingStatisticsDocuments`` and loading the returned targets.

    When the service says rules changed after our last fetch (``LastRuleModification``),
    it wakes the rule poller instead of waiting out the 5-minute interval.
    """

    def __init__(self, cache: RuleCache, rule_poller: RulePoller, connector: ServiceConnector) -> None:
        self._cache = cache
        self._rule_poller = rule_poller
        self._connector = connector
        self._random = Random()
        self._interval: float = DEFAULT_INTERVAL
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        # A fresh event per thread: a stopped thread never resumes because of a later start().
        self._stopped = stopped = threading.Event()
        thread = threading.Thread(
            target=self._worker, args=(stopped,), name="fluoro-sampling-targets", daemon=True
        )
        self._thread = thread
        thread.start()

    def stop(self) -> None:
        """End the polling thread (tests, shutdown); not in upstream."""
        self._stopped.set()

    def _worker(self, stopped: threading.Event | None = None) -> None:
        stopped = stopped or self._stopped
        while not stopped.wait(self._interval + self._get_jitter()):
            try:
                self._do_work()
            except Exception:
                log.error("Encountered an issue while polling targets.", exc_info=True)

    def _do_work(self) -> None:
        candidates = self._get_candidates(self._cache.rules)
        if not candidates:
            log.debug("There is no sampling rule statistics to report. Skipping")
            return
        connector = self._connector
        try:
            targets, rule_freshness = connector.fetch_sampling_target(candidates)
        except Exception as exc:
            connector._record_failure("reporting sampling statistics", exc)
            return
        connector._record_success()
        self._cache.load_targets(targets)
        last_updated = self._cache.last_updated
        if rule_freshness is not None and last_updated is not None and rule_freshness > last_updated:
            log.info("Performing out-of-band sampling rule polling to fetch updated rules.")
            self._rule_poller.wake_up()

    def _get_candidates(self, all_rules: list[SamplingRule]) -> list[SamplingRule]:
        """Rules matched since the last report whose reporting interval has come round."""
        return [rule for rule in all_rules if rule.ever_matched() and rule.time_to_report()]

    def _get_jitter(self) -> float:
        """Up to 0.1 s, so pollers in many processes drift apart."""
        return self._random.random() / self._interval

"""Centralized sampling (``DefaultSampler``): rules and quotas from X-Ray via the daemon.

Construction is cheap on purpose (the recorder builds one at import time): no network,
no threads, no botocore. Pollers start on the first decision; until the first rules
arrive, and whenever the cached rules are more than an hour old, decisions fall back
to the ``LocalSampler`` rules.
"""

from __future__ import annotations

import logging
import os
import threading
from random import Random

from fluoro import global_sdk_config

from . import _clock
from .connector import ServiceConnector
from .local.sampler import LocalSampler
from .reservoir import ReservoirDecision
from .rule_cache import RuleCache
from .rule_poller import RulePoller
from .target_poller import TargetPoller

TYPE_CHECKING = False  # typing is not imported at runtime (import cost)
if TYPE_CHECKING:
    from typing import Any

    from ..daemon_config import DaemonConfig
    from .sampling_rule import SamplingRule

__all__ = ["DefaultSampler", "LocalSampler"]

log = logging.getLogger(__name__)

_FALLBACK_MSG = "No effective centralized sampling rule match. Fallback to local rules."

_started_samplers: Any = None  # WeakSet of started samplers, for fork handling


def _after_fork_in_child() -> None:
    # Poller threads do not survive fork(); let the child start its own on first use.
    for sampler in list(_started_samplers or ()):
        sampler._lock = threading.Lock()
        sampler._started = False


def _track_started(sampler: DefaultSampler) -> None:
    global _started_samplers
    if _started_samplers is None:
        import weakref

        _started_samplers = weakref.WeakSet()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=_after_fork_in_child)
    _started_samplers.add(sampler)


class DefaultSampler:
    """Decide with centralized rules; returns the matched rule name when sampled.

    ``should_trace`` returns ``False``, ``True`` (local fallback) or the rule name
    (``str``), which the recorder records as ``aws.xray.sampling_rule_name``.
    """

    def __init__(self) -> None:
        self._local_sampler = LocalSampler()
        self._cache = RuleCache()
        self._connector = ServiceConnector()
        self._rule_poller = RulePoller(self._cache, self._connector)
        self._target_poller = TargetPoller(self._cache, self._rule_poller, self._connector)
        self._xray_client: Any = None
        self._random = Random()
        self._started = False
        self._origin: str | None = None
        self._lock = threading.Lock()
        self._fallback_logged = False

    def start(self) -> None:
        """Start the rule and target pollers once (not while the SDK is disabled)."""
        if not global_sdk_config.sdk_enabled():
            return
        with self._lock:
            if not self._started:
                self._rule_poller.start()
                self._target_poller.start()
                self._started = True
                _track_started(self)

    def stop(self) -> None:
        """Stop the pollers (tests, shutdown); a later decision starts them again."""
        with self._lock:
            self._rule_poller.stop()
            self._target_poller.stop()
            self._started = False

    def should_trace(self, sampling_req: dict | None = None) -> bool | str:
        """Sampling decision for a request described by host/method/path/service/service_type."""
        if not global_sdk_config.sdk_enabled():
            return False
        if not self._started:
            self.start()

        now = int(_clock.now())
        if sampling_req is None:
            sampling_req = {"service_type": self._origin}
        elif sampling_req and not sampling_req.get("service_type"):
            # Upstream writes into the caller's dict; a copy keeps the decision side-effect free.
            sampling_req = dict(sampling_req)
            sampling_req["service_type"] = self._origin

        matched_rule = self._cache.get_matched_rule(sampling_req, now)
        if matched_rule is not None:
            if self._fallback_logged:
                self._fallback_logged = False
            log.debug("Rule %s is selected to make a sampling decision.", matched_rule.name)
            return self._process_matched_rule(matched_rule, now)

        # Upstream logs this at info on every decision; once per fallback period is enough.
        if self._fallback_logged:
            log.debug(_FALLBACK_MSG)
        else:
            self._fallback_logged = True
            log.info(_FALLBACK_MSG)
        return self._local_sampler.should_trace(sampling_req)

    def load_local_rules(self, rules: dict) -> None:
        """Replace the local fallback rules (``configure(sampling_rules=...)``)."""
        self._local_sampler.load_local_rules(rules)

    def load_settings(self, daemon_config: DaemonConfig, context: Any, origin: str | None = None) -> None:
        """Point the pollers at the daemon's TCP address (or ``xray_client``) and set the origin.

        ``daemon_config`` needs ``tcp_ip``/``tcp_port``; ``context`` is only stored (the
        HTTP calls are recognised and skipped by the patchers, no dummy segment needed);
        ``origin`` (a plugin's ``ORIGIN``) is matched against rules' ``ServiceType``.
        """
        self._connector.setup_xray_client(
            ip=daemon_config.tcp_ip, port=daemon_config.tcp_port, client=self.xray_client
        )
        self._connector.context = context
        self._origin = origin

    def _process_matched_rule(self, rule: SamplingRule, now: int) -> bool | str:
        rule.increment_request_count()
        decision = rule.reservoir.borrow_or_take(now, rule.can_borrow)
        if decision is ReservoirDecision.BORROW:
            rule.increment_borrow_count()
        elif decision is ReservoirDecision.TAKE:
            rule.increment_sampled_count()
        elif self._random.random() <= rule.rate:
            rule.increment_sampled_count()
        else:
            return False
        return rule.name

    @property
    def xray_client(self) -> Any:
        return self._xray_client

    @xray_client.setter
    def xray_client(self, v: Any) -> None:
        self._xray_client = v

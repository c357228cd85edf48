"""Sampling from a local rules manifest, without any network access.

Used directly on Lambda (or with ``configure(sampler=LocalSampler())``) and by the
centralized ``DefaultSampler`` as its fallback while no centralized rule is in effect.
"""

from __future__ import annotations

from random import Random

from ...exceptions.exceptions import InvalidSamplingManifestError
from .sampling_rule import SamplingRule

SUPPORTED_RULE_VERSION = (1, 2)

_default_manifest: dict | None = None


def _load_default_manifest() -> dict:
    """Parse the packaged default manifest once, on first use (keeps import cheap)."""
    global _default_manifest
    if _default_manifest is None:
        import json
        import pkgutil

        data = pkgutil.get_data(__name__, "sampling_rule.json")
        if data is None:  # pragma: no cover - only with exotic loaders
            raise InvalidSamplingManifestError("The default sampling manifest could not be loaded.")
        _default_manifest = json.loads(data.decode("utf-8"))
    return _default_manifest


def __getattr__(name: str) -> object:
    # Upstream exposes the parsed default manifest as ``local_sampling_rule``; load it lazily.
    if name == "local_sampling_rule":
        return _load_default_manifest()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class LocalSampler:
    """First matching custom rule (in manifest order) decides, else the default rule.

    A rule samples while its per-second reservoir (``fixed_target``) lasts, then with
    probability ``rate``.
    """

    def __init__(self, rules: dict | None = None) -> None:
        self._random = Random()
        self._default_rule: SamplingRule | None = None
        self._rules: list[SamplingRule] = []
        if rules is not None:
            self.load_local_rules(rules)

    def should_trace(self, sampling_req: dict | None = None) -> bool:
        """Decide for a request described by ``host``/``method``/``path`` (other keys ignored)."""
        default_rule = self._default_rule
        if default_rule is None:
            self.load_local_rules(_load_default_manifest())
            default_rule = self._default_rule
        if sampling_req is not None:
            host = sampling_req.get("host")
            method = sampling_req.get("method")
            path = sampling_req.get("path")
            for rule in self._rules:
                if rule.applies(host, method, path):
                    return self._should_trace(rule)
        return self._should_trace(default_rule)  # type: ignore[arg-type]

    def load_local_rules(self, rules: dict) -> None:
        """Replace all rules with the manifest ``rules`` (version 1 or 2); atomic on error."""
        version = rules.get("version")
        if version not in SUPPORTED_RULE_VERSION:
            raise InvalidSamplingManifestError(f"Manifest version: {version} is not supported.")
        if "default" not in rules:
            raise InvalidSamplingManifestError("A default rule must be provided.")
        default_rule = SamplingRule(rule_dict=rules["default"], version=version, default=True)
        custom = [SamplingRule(rule, version) for rule in rules.get("rules") or ()]
        self._rules = custom
        self._default_rule = default_rule

    def _should_trace(self, sampling_rule: SamplingRule) -> bool:
        if sampling_rule.reservoir.take():
            return True
        return self._random.random() < sampling_rule.rate

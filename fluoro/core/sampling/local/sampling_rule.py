"""One rule of a local sampling manifest (``sampling_rules=`` file or dict)."""

from __future__ import annotations

from ...exceptions.exceptions import InvalidSamplingManifestError
from ...utils.search_pattern import wildcard_match
from .reservoir import Reservoir

TYPE_CHECKING = False  # typing is not imported at runtime (import cost)
if TYPE_CHECKING:
    from typing import Any


class SamplingRule:
    """A custom or default local rule: wildcard match on host/method/path, then target + rate.

    Manifest version 2 names the host field ``host``; version 1 called it ``service_name``.
    """

    FIXED_TARGET = "fixed_target"
    RATE = "rate"

    HOST = "host"
    METHOD = "http_method"
    PATH = "url_path"
    SERVICE_NAME = "service_name"

    def __init__(self, rule_dict: dict, version: int = 2, default: bool = False) -> None:
        if version == 2:
            self._host_key = self.HOST
        elif version == 1:
            self._host_key = self.SERVICE_NAME
        else:
            raise InvalidSamplingManifestError(f"Manifest version: {version} is not supported.")
        self._version = version
        self._fixed_target: Any = rule_dict.get(self.FIXED_TARGET)
        self._rate: Any = rule_dict.get(self.RATE)
        self._host = rule_dict.get(self._host_key)
        self._method = rule_dict.get(self.METHOD)
        self._path = rule_dict.get(self.PATH)
        self._default = default
        self._validate()
        self._reservoir = Reservoir(self._fixed_target)  # type: ignore[arg-type]  # validated

    def applies(self, host: str | None, method: str | None, path: str | None) -> bool:
        """True if the request matches; a missing (falsy) request field counts as a match."""
        return (
            (not host or wildcard_match(self._host, host))
            and (not method or wildcard_match(self._method, method))
            and (not path or wildcard_match(self._path, path))
        )

    @property
    def fixed_target(self) -> int:
        """Requests sampled per second before ``rate`` applies."""
        return self._fixed_target

    @property
    def rate(self) -> float:
        """Fraction of the requests beyond ``fixed_target`` that are sampled."""
        return self._rate

    @property
    def host(self) -> str | None:
        return self._host

    @property
    def method(self) -> str | None:
        return self._method

    @property
    def path(self) -> str | None:
        return self._path

    @property
    def reservoir(self) -> Reservoir:
        return self._reservoir

    @property
    def version(self) -> int:
        # Upstream declares this property but never sets ``_version`` (AttributeError).
        return self._version

    def _validate(self) -> None:
        # Upstream raises a bare TypeError when fixed_target/rate are missing or not
        # numbers; a manifest error with a readable message is what callers expect.
        for value in (self._fixed_target, self._rate):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InvalidSamplingManifestError(
                    "All rules must have numeric values for fixed_target and rate"
                )
        if self._fixed_target < 0 or self._rate < 0:
            raise InvalidSamplingManifestError(
                "All rules must have non-negative values for fixed_target and rate"
            )
        if self._default:
            if self._host or self._method or self._path:
                raise InvalidSamplingManifestError(
                    f"The default rule must not specify values for url_path, {self._host_key}, or http_method"
                )
        elif not self._host or not self._method or not self._path:
            raise InvalidSamplingManifestError(
                f"All non-default rules must have values for url_path, {self._host_key}, and http_method"
            )

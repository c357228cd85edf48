"""Talks to the sampling API through the daemon's TCP proxy (``POST /GetSamplingRules``,
``POST /SamplingTargets``), unsigned: the daemon signs the requests.

Upstream builds a botocore client for this, which costs ~300 ms of import time and breaks
on a bad ``AWS_PROFILE``; two small JSON POSTs need nothing beyond ``http.client``. A
user-supplied client with botocore's ``get_sampling_rules``/``get_sampling_targets``
methods (``DefaultSampler.xray_client = ...``) is still honoured.
"""

from __future__ import annotations

import logging
import os
import threading
from contextvars import ContextVar

from . import _clock
from .sampling_rule import SamplingRule

TYPE_CHECKING = False  # typing is not imported at runtime (import cost)
if TYPE_CHECKING:
    from typing import Any

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 2.0  # seconds; the daemon is local, a slow answer is as bad as none.
_MAX_RULE_PAGES = 20  # upstream ignores NextToken; follow it, but never loop forever.


# True while this module makes a sampling API call, so HTTP patchers can also recognise
# these requests by context (they already skip the two sampling paths by URL).
SAMPLING_REQUEST: ContextVar[bool] = ContextVar("fluoro_sampling_request", default=False)


def in_sampling_request() -> bool:
    """True inside the connector's own HTTP call; patchers use it to stay out of the way."""
    return SAMPLING_REQUEST.get()


class SamplingEndpointError(Exception):
    """The sampling endpoint answered, but not with a usable 200 JSON object."""


class DaemonSamplingClient:
    """Minimal stand-in for botocore's ``xray`` client, speaking to ``http://host:port``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 2000, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.host = host
        self.port = int(port)
        self.timeout = timeout

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def get_sampling_rules(self, **params: object) -> dict:
        return self._post("/GetSamplingRules", params)

    def get_sampling_targets(self, **params: object) -> dict:
        return self._post("/SamplingTargets", params)

    def _post(self, path: str, payload: dict) -> dict:
        # Imported here so that importing the sampler stays cheap.
        import http.client
        import json

        body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        marker = SAMPLING_REQUEST.set(True)
        try:
            conn.request(
                "POST",
                path,
                body=body,
                headers={"Content-Type": "application/json", "User-Agent": "fluoro-sampler"},
            )
            resp = conn.getresponse()
            data = resp.read()
            status = resp.status
        finally:
            SAMPLING_REQUEST.reset(marker)
            conn.close()
        if status != 200:
            snippet = data[:200].decode("utf-8", "replace")
            raise SamplingEndpointError(f"POST {path} returned HTTP {status}: {snippet}")
        try:
            doc = json.loads(data.decode("utf-8")) if data else {}
        except ValueError as exc:
            raise SamplingEndpointError(f"POST {path} returned invalid JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise SamplingEndpointError(f"POST {path} returned {type(doc).__name__}, not a JSON object")
        return doc


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class ServiceConnector:
    """Turns poller calls into API requests and responses into rules and targets.

    Also tracks endpoint health so that an absent daemon produces one warning, not a
    stream of tracebacks every 10 seconds (upstream issues #109, #162, #208).
    """

    def __init__(self) -> None:
        self._xray_client: Any = None
        self._address: tuple[str, int] = ("127.0.0.1", 2000)
        self._client_id = os.urandom(12).hex()
        self._context: Any = None
        self._healthy = True
        self._health_lock = threading.Lock()

    # -- API calls -----------------------------------------------------------------

    def fetch_sampling_rules(self) -> list[SamplingRule]:
        """All valid centralized rules (``Version`` 1, ``ResourceARN`` ``*``, no attributes)."""
        client = self._client()
        new_rules: list[SamplingRule] = []
        token = None
        seen: set[str] = set()
        for _ in range(_MAX_RULE_PAGES):
            resp = client.get_sampling_rules(NextToken=token) if token else client.get_sampling_rules()
            for record in resp.get("SamplingRuleRecords") or ():
                rule = self._rule_from_record(record)
                if rule is not None:
                    new_rules.append(rule)
            token = resp.get("NextToken")
            if not token or token in seen:
                break
            seen.add(token)
        return new_rules

    def fetch_sampling_target(self, rules: list[SamplingRule]) -> tuple[dict[str, dict], int | None]:
        """Report ``rules``' statistics; return new targets by rule name and ``LastRuleModification``."""
        now = int(_clock.now())
        docs = self._generate_reporting_docs(rules, now)
        resp = self._client().get_sampling_targets(SamplingStatisticsDocuments=docs)
        targets: dict[str, dict] = {}
        for doc in resp.get("SamplingTargetDocuments") or ():
            if not isinstance(doc, dict) or not doc.get("RuleName"):
                continue
            ttl = doc.get("ReservoirQuotaTTL")
            targets[doc["RuleName"]] = {
                "rate": doc.get("FixedRate"),
                "quota": doc.get("ReservoirQuota"),
                "TTL": self._dt_to_epoch(ttl) if ttl else None,
                "interval": doc.get("Interval"),
            }
        modified = resp.get("LastRuleModification")
        return targets, (self._dt_to_epoch(modified) if modified is not None else None)

    def setup_xray_client(self, ip: str, port: int, client: Any) -> None:
        """Use ``client`` if given, else the daemon at ``ip:port`` (no I/O happens here)."""
        self._address = (ip, int(port))
        self._xray_client = client if client else self._create_xray_client(ip, port)

    @property
    def context(self) -> Any:
        return self._context

    @context.setter
    def context(self, v: Any) -> None:
        self._context = v

    @property
    def endpoint(self) -> str:
        client = self._xray_client
        if client is None or isinstance(client, DaemonSamplingClient):
            return f"http://{self._address[0]}:{self._address[1]}"
        return f"custom X-Ray client {type(client).__name__}"

    # -- endpoint health -------------------------------------------------------------

    def _record_success(self) -> None:
        with self._health_lock:
            recovered = not self._healthy
            self._healthy = True
        if recovered:
            log.info("X-Ray sampling endpoint %s is reachable again.", self.endpoint)

    def _record_failure(self, activity: str, exc: BaseException) -> None:
        with self._health_lock:
            first = self._healthy
            self._healthy = False
        if first:
            log.warning(
                "X-Ray sampling endpoint %s failed while %s (%s: %s). Decisions use the local "
                "sampling rules whenever no fresh centralized rules are cached; retrying quietly "
                "until the endpoint recovers.",
                self.endpoint,
                activity,
                type(exc).__name__,
                exc,
            )
        else:
            log.debug(
                "X-Ray sampling endpoint %s still failing while %s.", self.endpoint, activity, exc_info=exc
            )

    # -- helpers (upstream names) ----------------------------------------------------------

    def _client(self) -> Any:
        client = self._xray_client
        if client is None:
            client = self._xray_client = self._create_xray_client(*self._address)
        return client

    def _rule_from_record(self, record: Any) -> SamplingRule | None:
        rule_def = record.get("SamplingRule") if isinstance(record, dict) else None
        if not isinstance(rule_def, dict) or not self._is_rule_valid(rule_def):
            return None
        name = rule_def.get("RuleName")
        priority = rule_def.get("Priority")
        rate = rule_def.get("FixedRate")
        if (
            not name
            or not isinstance(priority, (int, float))
            or not isinstance(rate, (int, float))
            or isinstance(priority, bool)
            or isinstance(rate, bool)
        ):
            log.debug("Skipping malformed sampling rule %r.", name)
            return None
        return SamplingRule(
            name=name,
            priority=priority,
            rate=rate,
            reservoir_size=rule_def.get("ReservoirSize") or 0,
            host=rule_def.get("Host", "*"),
            service=rule_def.get("ServiceName", "*"),
            method=rule_def.get("HTTPMethod", "*"),
            path=rule_def.get("URLPath", "*"),
            service_type=rule_def.get("ServiceType"),
        )

    def _generate_reporting_docs(self, rules: list[SamplingRule], now: int) -> list[dict]:
        docs = []
        for rule in rules:
            stats = rule.snapshot_statistics()
            docs.append(
                {
                    "RuleName": rule.name,
                    "ClientID": self._client_id,
                    "RequestCount": stats["request_count"],
                    "BorrowCount": stats["borrow_count"],
                    "SampledCount": stats["sampled_count"],
                    "Timestamp": now,
                }
            )
        return docs

    def _dt_to_epoch(self, dt: Any) -> int:
        """Epoch seconds from a datetime (botocore), a number (wire) or an ISO/number string."""
        if isinstance(dt, str):
            text = dt.strip()
            try:
                dt = float(text)
            except ValueError:
                from datetime import datetime

                dt = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
        if _is_number(dt):
            value = float(dt)
            # Java SDKs write epoch milliseconds; no epoch-seconds value is that large.
            return int(value / 1000 if value > 1e11 else value)
        if hasattr(dt, "timestamp"):
            if getattr(dt, "tzinfo", True) is None:
                from datetime import timezone

                dt = dt.replace(tzinfo=timezone.utc)
            return int(dt.timestamp())
        raise TypeError(f"cannot convert {dt!r} to an epoch timestamp")

    def _is_rule_valid(self, record: dict) -> bool:
        # Only version-1 rules without attribute conditions can be evaluated by this SDK.
        return bool(
            record.get("Version") == 1
            and record.get("ResourceARN") == "*"
            and record.get("ServiceType")
            and not record.get("Attributes")
        )

    def _create_xray_client(self, ip: str = "127.0.0.1", port: int | str = 2000) -> DaemonSamplingClient:
        return DaemonSamplingClient(ip, int(port))

"""Centralized sampling against a real HTTP server on 127.0.0.1 serving the shared fixtures.

The server plays the daemon's TCP proxy: ``POST /GetSamplingRules`` and
``POST /SamplingTargets``. Time is driven through ``fluoro.core.sampling._clock``.
"""

from __future__ import annotations

import copy
import json
import logging
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import fluoro
from fluoro.core.daemon_config import DaemonConfig
from fluoro.core.sampling import _clock
from fluoro.core.sampling.connector import SamplingEndpointError, ServiceConnector
from fluoro.core.sampling.reservoir import Reservoir, ReservoirDecision
from fluoro.core.sampling.rule_cache import TTL, RuleCache
from fluoro.core.sampling.sampler import DefaultSampler, LocalSampler
from fluoro.core.sampling.sampling_rule import SamplingRule

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
FIXTURES = SHARED / "fixtures" / "xray" / "sampling"

pytestmark = pytest.mark.skipif(
    not FIXTURES.is_dir(), reason=f"shared sampling fixtures not found at {FIXTURES}"
)

T0 = 1_530_920_000  # a little before the fixtures' LastRuleModification (1530920505)
ALWAYS_LOCAL = {"version": 2, "default": {"fixed_target": 0, "rate": 1}, "rules": []}
NEVER_LOCAL = {"version": 2, "default": {"fixed_target": 0, "rate": 0}, "rules": []}


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


# -- fake daemon -------------------------------------------------------------------------


class FakeDaemon:
    """Threaded HTTP server; responses per path are (status, JSON-able or bytes) or callables."""

    def __init__(self) -> None:
        self.responses: dict[str, object] = {}
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        daemon = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                entry = {
                    "path": self.path,
                    "headers": dict(self.headers),
                    "raw": raw,
                    "body": json.loads(raw),
                }
                with daemon.lock:
                    daemon.requests.append(entry)
                    spec = daemon.responses.get(self.path, (404, {"message": "unknown path"}))
                if callable(spec):
                    spec = spec(entry)
                status, payload = spec
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self.thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def paths(self) -> list[str]:
        with self.lock:
            return [r["path"] for r in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class FakeClock:
    def __init__(self, start: float) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def wait_until(cond, timeout: float = 5.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.01)
    return cond()


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_XRAY_DAEMON_ADDRESS", raising=False)
    monkeypatch.setattr(type(fluoro.global_sdk_config), "sdk_enabled", classmethod(lambda cls: True))


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock(T0 + 0.5)
    monkeypatch.setattr(_clock, "now", fake)
    return fake


@pytest.fixture
def daemon():  # type: ignore[no-untyped-def]
    d = FakeDaemon()
    d.responses["/GetSamplingRules"] = (200, load("awscli-get-sampling-rules-response.json"))
    d.responses["/SamplingTargets"] = (200, load("devguide-get-sampling-targets-response.json"))
    yield d
    d.close()


@pytest.fixture
def sampler(daemon: FakeDaemon, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A DefaultSampler whose pollers are driven by hand (like upstream's StubbedSampler)."""
    s = DefaultSampler()
    monkeypatch.setattr(s, "start", lambda: None)
    s.load_settings(DaemonConfig(daemon.address), context=None)
    yield s
    s.stop()


@pytest.fixture
def live_sampler(daemon: FakeDaemon):  # type: ignore[no-untyped-def]
    """A DefaultSampler whose pollers really run in threads."""
    s = DefaultSampler()
    s.load_settings(DaemonConfig(daemon.address), context=None)
    yield s
    s.stop()


# -- construction and import cost ------------------------------------------------------------


def test_import_and_init_are_cheap() -> None:
    code = (
        "import sys, threading\n"
        "import fluoro.core.sampling.sampler as m\n"
        "s = m.DefaultSampler()\n"
        "from fluoro.core.daemon_config import DaemonConfig\n"
        "s.load_settings(DaemonConfig('127.0.0.1:9'), None)\n"
        "bad = [n for n in ('botocore', 'http.client', 'urllib.request', 'boto3') if n in sys.modules]\n"
        "assert not bad, bad\n"
        "assert threading.active_count() == 1, threading.enumerate()\n"
        "assert m.LocalSampler.__module__ == 'fluoro.core.sampling.local.sampler'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_sampler_module_reexports_local_sampler() -> None:
    from fluoro.core.sampling import sampler as module

    assert module.LocalSampler is LocalSampler
    assert {"DefaultSampler", "LocalSampler"} <= set(module.__all__)


def test_upstream_attributes_exist() -> None:
    s = DefaultSampler()
    assert s._origin is None
    assert isinstance(s._local_sampler, LocalSampler)
    assert callable(s._process_matched_rule)
    assert s.xray_client is None


# -- connector: GetSamplingRules ------------------------------------------------------------------


def _connector(daemon: FakeDaemon) -> ServiceConnector:
    c = ServiceConnector()
    c.setup_xray_client("127.0.0.1", daemon.port, None)
    return c


def test_fetch_rules_request_and_parsing(daemon: FakeDaemon) -> None:
    rules = _connector(daemon).fetch_sampling_rules()
    assert [r.name for r in rules] == ["Default", "base-scorekeep", "polling-scorekeep"]
    req = daemon.requests[0]
    assert req["path"] == "/GetSamplingRules"
    assert req["body"] == {}
    assert req["raw"] == b"{}"
    assert req["headers"]["Content-Type"] == "application/json"
    assert "Authorization" not in req["headers"]  # unsigned: the daemon signs
    polling = rules[2]
    assert (polling.priority, polling.rate, polling.can_borrow) == (5000, 0.003, False)
    assert polling.match({"method": "GET", "path": "/api/state/abc", "service": "Scorekeep"})
    assert not polling.match({"method": "POST", "path": "/api/state/abc"})
    assert rules[1].can_borrow is True


def test_rules_with_attributes_are_rejected(daemon: FakeDaemon) -> None:
    daemon.responses["/GetSamplingRules"] = (200, load("otel-python-get-sampling-rules-response.json"))
    assert sorted(r.name for r in _connector(daemon).fetch_sampling_rules()) == ["Default", "Rule2"]
    daemon.responses["/GetSamplingRules"] = (
        200,
        load("otel-java-get-sampling-rules-response-iso-dates.json"),
    )
    assert [r.name for r in _connector(daemon).fetch_sampling_rules()] == ["Default"]


@pytest.mark.parametrize(
    ("change", "accepted"),
    [
        ({}, True),
        ({"Version": 2}, False),
        ({"ResourceARN": "arn:aws:ecs:us-east-1:123:service/x"}, False),
        ({"ServiceType": ""}, False),
        ({"Attributes": {"k": "v"}}, False),
        ({"Attributes": None}, True),
        ({"Priority": "high"}, False),
    ],
)
def test_rule_acceptance(daemon: FakeDaemon, change: dict, accepted: bool) -> None:
    doc = load("awscli-get-sampling-rules-response.json")
    rule = doc["SamplingRuleRecords"][1]["SamplingRule"]
    rule.update(change)
    for key in [k for k, v in change.items() if v is None]:
        del rule[key]
    daemon.responses["/GetSamplingRules"] = (200, doc)
    names = [r.name for r in _connector(daemon).fetch_sampling_rules()]
    assert ("base-scorekeep" in names) is accepted


def test_next_token_is_followed(daemon: FakeDaemon) -> None:
    full = load("awscli-get-sampling-rules-response.json")
    records = full["SamplingRuleRecords"]

    def respond(entry: dict) -> tuple[int, dict]:
        if entry["body"].get("NextToken") == "page-2":
            return 200, {"SamplingRuleRecords": records[2:], "NextToken": None}
        return 200, {"SamplingRuleRecords": records[:2], "NextToken": "page-2"}

    daemon.responses["/GetSamplingRules"] = respond
    assert len(_connector(daemon).fetch_sampling_rules()) == 3
    assert [r["body"] for r in daemon.requests] == [{}, {"NextToken": "page-2"}]


@pytest.mark.parametrize("status", [400, 403, 500, 502])
def test_non_200_is_a_failure(daemon: FakeDaemon, status: int) -> None:
    daemon.responses["/GetSamplingRules"] = (status, {"message": "nope"})
    with pytest.raises(SamplingEndpointError, match=str(status)):
        _connector(daemon).fetch_sampling_rules()


def test_invalid_json_is_a_failure(daemon: FakeDaemon) -> None:
    daemon.responses["/GetSamplingRules"] = (200, b"<html>proxy error</html>")
    with pytest.raises(SamplingEndpointError):
        _connector(daemon).fetch_sampling_rules()


# -- connector: SamplingTargets ----------------------------------------------------------------------


def test_fetch_targets_request_and_parsing(daemon: FakeDaemon, clock: FakeClock) -> None:
    c = _connector(daemon)
    rules = c.fetch_sampling_rules()
    base = rules[1]
    for _ in range(3):
        base.increment_request_count()
    base.increment_borrow_count()
    base.increment_sampled_count()
    targets, modified = c.fetch_sampling_target([base])

    req = daemon.requests[-1]
    assert req["path"] == "/SamplingTargets"
    (doc,) = req["body"]["SamplingStatisticsDocuments"]
    assert set(doc) == {"RuleName", "ClientID", "RequestCount", "BorrowCount", "SampledCount", "Timestamp"}
    assert doc["RuleName"] == "base-scorekeep"
    assert len(doc["ClientID"]) == 24 and int(doc["ClientID"], 16) >= 0
    assert (doc["RequestCount"], doc["BorrowCount"], doc["SampledCount"]) == (3, 1, 1)
    assert doc["Timestamp"] == T0 and isinstance(doc["Timestamp"], int)
    # Statistics were snapshotted (reset) when reported.
    assert base.request_count == 0

    assert modified == 1530920505
    assert targets["base-scorekeep"] == {"rate": 0.1, "quota": 2, "TTL": 1530923107, "interval": 10}
    assert targets["polling-scorekeep"]["quota"] == 0


def test_client_id_is_stable_per_connector(daemon: FakeDaemon) -> None:
    c = _connector(daemon)
    rule = SamplingRule("x", 1, 0.1, 1)
    c.fetch_sampling_target([rule])
    c.fetch_sampling_target([rule])
    ids = {r["body"]["SamplingStatisticsDocuments"][0]["ClientID"] for r in daemon.requests}
    assert len(ids) == 1
    assert ServiceConnector()._client_id != c._client_id


def test_targets_without_quota(daemon: FakeDaemon) -> None:
    daemon.responses["/SamplingTargets"] = (
        200,
        load("otel-java-get-sampling-targets-response-unprocessed.json"),
    )
    targets, modified = _connector(daemon).fetch_sampling_target([SamplingRule("x", 1, 0.1, 1)])
    assert targets["polling-scorekeep"] == {"rate": 0.003, "quota": None, "TTL": None, "interval": None}
    assert modified == 1530920505


def test_targets_otel_python_fixture(daemon: FakeDaemon) -> None:
    daemon.responses["/SamplingTargets"] = (200, load("otel-python-get-sampling-targets-response.json"))
    targets, modified = _connector(daemon).fetch_sampling_target([SamplingRule("x", 1, 0.1, 1)])
    assert modified == 1707551387
    assert targets["test"]["quota"] == 30
    assert targets["Default"]["TTL"] == 1707764006


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1530923107.0, 1530923107),
        (1530923107, 1530923107),
        (1530923107000, 1530923107),  # epoch milliseconds (Java)
        ("1530923107.5", 1530923107),
        ("2018-07-07T00:25:07Z", 1530923107),
        ("2018-07-07T09:25:07+09:00", 1530923107),
        (datetime(2018, 7, 7, 0, 25, 7, tzinfo=timezone.utc), 1530923107),  # botocore-style
        (datetime(2018, 7, 7, 0, 25, 7), 1530923107),  # naive: UTC
        (datetime(2018, 7, 7, 9, 25, 7, tzinfo=timezone(timedelta(hours=9))), 1530923107),
    ],
)
def test_timestamps_are_read_leniently(value: object, expected: int) -> None:
    assert ServiceConnector()._dt_to_epoch(value) == expected


def test_custom_xray_client_is_honoured() -> None:
    """A botocore-style client (datetimes in responses) set via ``sampler.xray_client``."""

    class StubClient:
        def __init__(self) -> None:
            self.calls: list[tuple[str, dict]] = []

        def get_sampling_rules(self, **kw: object) -> dict:
            self.calls.append(("rules", kw))
            return load("awscli-get-sampling-rules-response.json")

        def get_sampling_targets(self, **kw: object) -> dict:
            self.calls.append(("targets", kw))
            return {
                "SamplingTargetDocuments": [
                    {
                        "RuleName": "Default",
                        "FixedRate": 0.5,
                        "ReservoirQuota": 4,
                        "ReservoirQuotaTTL": datetime(2018, 7, 7, 0, 25, 7, tzinfo=timezone.utc),
                    }
                ],
                "LastRuleModification": datetime(2018, 7, 6, tzinfo=timezone.utc),
            }

    s = DefaultSampler()
    stub = StubClient()
    s.xray_client = stub
    s.load_settings(DaemonConfig("127.0.0.1:9"), None)
    s._rule_poller._refresh_cache()
    assert [r.name for r in s._cache.rules][-1] == "Default"
    s._cache.rules[-1].increment_request_count()
    s._target_poller._do_work()
    assert [c[0] for c in stub.calls] == ["rules", "targets"]
    assert stub.calls[1][1]["SamplingStatisticsDocuments"][0]["RuleName"] == "Default"
    default = s._cache.rules[-1]
    assert (default.rate, default.reservoir.quota, default.reservoir.TTL) == (0.5, 4, 1530923107)


# -- decisions ---------------------------------------------------------------------------------------


def test_falls_back_to_local_rules_before_any_rules(sampler: DefaultSampler, clock: FakeClock) -> None:
    sampler.load_local_rules(ALWAYS_LOCAL)
    assert sampler.should_trace() is True
    sampler.load_local_rules(NEVER_LOCAL)
    assert sampler.should_trace({"service": "x"}) is False


def test_rule_name_returned_when_sampled(sampler: DefaultSampler, clock: FakeClock) -> None:
    sampler._rule_poller._refresh_cache()
    assert sampler._cache.last_updated == T0
    req = {"host": "scorekeep.example.com", "method": "GET", "path": "/api/state/1", "service": "Scorekeep"}
    sampler._random.random = lambda: 0.0  # always within rate
    assert sampler.should_trace(req) == "polling-scorekeep"
    sampler._random.random = lambda: 0.999
    assert sampler.should_trace(req) is False  # no reservoir (size 0), rate 0.3 %
    assert sampler.should_trace({"service": "Other"}) is False  # Default: size 0, rate 1 %
    sampler._random.random = lambda: 0.01
    assert sampler.should_trace({"service": "Other"}) == "Default"  # random() <= rate


def test_borrow_take_quota_and_ttl(sampler: DefaultSampler, clock: FakeClock) -> None:
    sampler._rule_poller._refresh_cache()
    sampler._random.random = lambda: 0.999  # the rate never samples here
    req = {"service": "Scorekeep", "method": "POST", "path": "/api/game"}

    # No quota yet: borrow one per second.
    assert sampler.should_trace(req) == "base-scorekeep"
    assert sampler.should_trace(req) is False
    clock.advance(1)
    assert sampler.should_trace(req) == "base-scorekeep"
    rule = next(r for r in sampler._cache.rules if r.name == "base-scorekeep")
    assert (rule.request_count, rule.borrow_count, rule.sampled_count) == (3, 2, 0)

    # Quota 2 until TTL 1530923107: take two per second.
    sampler._target_poller._do_work()
    assert rule.reservoir.quota == 2 and rule.reservoir.TTL == 1530923107
    assert (rule.request_count, rule.borrow_count, rule.sampled_count) == (0, 0, 0)
    clock.advance(1)
    assert [sampler.should_trace(req) for _ in range(3)] == ["base-scorekeep", "base-scorekeep", False]
    assert (rule.request_count, rule.borrow_count, rule.sampled_count) == (3, 0, 2)

    # After the TTL: borrowing again.
    clock.t = 1530923108.2
    sampler._cache.last_updated = int(clock.t)  # keep the cache itself fresh
    assert [sampler.should_trace(req) for _ in range(2)] == ["base-scorekeep", False]
    assert rule.borrow_count == 1


def test_quota_zero_falls_to_rate(sampler: DefaultSampler, clock: FakeClock) -> None:
    sampler._rule_poller._refresh_cache()
    req = {"service": "Scorekeep", "method": "GET", "path": "/api/state/x"}
    sampler.should_trace(req)
    sampler._target_poller._do_work()  # polling-scorekeep: quota 0, rate 0.003
    sampler._random.random = lambda: 0.003
    assert sampler.should_trace(req) == "polling-scorekeep"
    sampler._random.random = lambda: 0.0031
    assert sampler.should_trace(req) is False


def test_statistics_reported_only_for_matched_rules(
    sampler: DefaultSampler, daemon: FakeDaemon, clock: FakeClock
) -> None:
    sampler._rule_poller._refresh_cache()
    sampler._random.random = lambda: 0.999
    for _ in range(4):
        sampler.should_trace({"service": "Scorekeep", "method": "PUT", "path": "/x"})
    sampler._target_poller._do_work()
    docs = daemon.requests[-1]["body"]["SamplingStatisticsDocuments"]
    assert [(d["RuleName"], d["RequestCount"], d["BorrowCount"], d["SampledCount"]) for d in docs] == [
        ("base-scorekeep", 4, 1, 0)
    ]
    n = len(daemon.requests)
    sampler._target_poller._do_work()  # nothing matched since: no request
    assert len(daemon.requests) == n


def test_report_interval_from_target(sampler: DefaultSampler, daemon: FakeDaemon, clock: FakeClock) -> None:
    targets = load("devguide-get-sampling-targets-response.json")
    for doc in targets["SamplingTargetDocuments"]:
        doc["Interval"] = 30  # report every third 10-second tick
    daemon.responses["/SamplingTargets"] = (200, targets)
    sampler._rule_poller._refresh_cache()
    req = {"service": "Scorekeep", "method": "PUT", "path": "/x"}
    sampler.should_trace(req)
    sampler._target_poller._do_work()
    reported = []
    for _ in range(6):
        sampler.should_trace(req)
        before = len(daemon.paths())
        sampler._target_poller._do_work()
        reported.append(len(daemon.paths()) > before)
    assert reported == [False, False, True, False, False, True]


def test_service_type_comes_from_origin(
    sampler: DefaultSampler, daemon: FakeDaemon, clock: FakeClock
) -> None:
    doc = load("awscli-get-sampling-rules-response.json")
    ec2_rule = copy.deepcopy(doc["SamplingRuleRecords"][1])
    ec2_rule["SamplingRule"].update(
        RuleName="ec2-only", Priority=1, ServiceName="*", ServiceType="AWS::EC2::*"
    )
    doc["SamplingRuleRecords"].append(ec2_rule)
    daemon.responses["/GetSamplingRules"] = (200, doc)
    sampler._rule_poller._refresh_cache()
    sampler._random.random = lambda: 0.0

    req = {"service": "svc"}
    assert sampler.should_trace(req) == "ec2-only"  # no origin: service_type absent, implicit match
    sampler.load_settings(DaemonConfig(daemon.address), None, origin="AWS::ECS::Container")
    assert sampler.should_trace(req) == "Default"
    assert req == {"service": "svc"}  # the caller's dict is not modified
    sampler.load_settings(DaemonConfig(daemon.address), None, origin="AWS::EC2::Instance")
    assert sampler.should_trace(req) == "ec2-only"
    assert sampler.should_trace() == "ec2-only"
    # An explicit service_type in the request wins over the origin.
    assert sampler.should_trace({"service": "svc", "service_type": "AWS::Lambda"}) == "Default"


def test_stale_cache_falls_back_to_local(sampler: DefaultSampler, clock: FakeClock) -> None:
    sampler.load_local_rules(ALWAYS_LOCAL)
    sampler._rule_poller._refresh_cache()
    sampler._random.random = lambda: 0.999
    assert sampler.should_trace({"service": "Other"}) is False  # centralized Default
    clock.advance(TTL + 1)
    assert sampler.should_trace({"service": "Other"}) is True  # local rules


def test_fallback_logged_once(
    sampler: DefaultSampler, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="fluoro.core.sampling")
    sampler.load_local_rules(NEVER_LOCAL)
    for _ in range(5):
        sampler.should_trace()
    msgs = [r for r in caplog.records if "Fallback to local rules" in r.getMessage()]
    assert [r.levelno for r in msgs] == [logging.INFO] + [logging.DEBUG] * 4


def test_sdk_disabled(daemon: FakeDaemon, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(type(fluoro.global_sdk_config), "sdk_enabled", classmethod(lambda cls: False))
    s = DefaultSampler()
    s.load_settings(DaemonConfig(daemon.address), None)
    s.load_local_rules(ALWAYS_LOCAL)
    assert s.should_trace() is False
    s.start()
    assert s._started is False
    assert not [t for t in threading.enumerate() if t.name.startswith("fluoro-sampling")]
    assert daemon.requests == []


def test_process_matched_rule_in_subclass(clock: FakeClock) -> None:
    """Users subclass DefaultSampler and reuse ``_process_matched_rule``/``_local_sampler``/``_origin``."""

    class CustomSampler(DefaultSampler):
        def start(self) -> None:
            pass

        def should_trace(self, sampling_req=None):  # type: ignore[no-untyped-def]
            rule = SamplingRule(
                name="custom", priority=1, rate=0.0, reservoir_size=1, service_type=self._origin
            )
            decision = self._process_matched_rule(rule, int(_clock.now()))
            return decision or self._local_sampler.should_trace(sampling_req)

    s = CustomSampler()
    s.load_local_rules(NEVER_LOCAL)
    s.load_settings(DaemonConfig("127.0.0.1:9"), None, origin="AWS::EC2::Instance")
    assert s._origin == "AWS::EC2::Instance"
    assert s.should_trace() == "custom"  # borrowed
    s._random.random = lambda: 0.5
    assert s.should_trace() == "custom"  # fresh rule object each time: borrows again


# -- pollers (real threads) ----------------------------------------------------------------------------


def test_pollers_start_lazily_on_first_decision(live_sampler: DefaultSampler, daemon: FakeDaemon) -> None:
    assert not live_sampler._started
    assert daemon.requests == []
    live_sampler.should_trace()
    assert live_sampler._started
    threads = {t.name: t for t in threading.enumerate() if t.name.startswith("fluoro-sampling")}
    assert {"fluoro-sampling-rules", "fluoro-sampling-targets"} <= set(threads)
    assert all(t.daemon for t in threads.values())
    assert wait_until(lambda: live_sampler._cache.last_updated is not None)
    assert daemon.paths()[0] == "/GetSamplingRules"
    assert [r.name for r in live_sampler._cache.rules] == ["polling-scorekeep", "base-scorekeep", "Default"]
    # Starting again does not start a second pair of pollers.
    live_sampler.start()
    live_sampler.should_trace()
    assert len([t for t in threading.enumerate() if t.name == "fluoro-sampling-rules" and t.is_alive()]) >= 1
    assert daemon.paths().count("/GetSamplingRules") == 1


def test_rule_poller_interval_and_jitter(daemon: FakeDaemon) -> None:
    s = DefaultSampler()
    poller = s._rule_poller
    poller._reset_time_to_wait()
    assert 300 <= poller._time_to_wait <= 305
    assert 10 <= s._target_poller._interval + s._target_poller._get_jitter() <= 10.1


def test_out_of_band_rule_refresh(live_sampler: DefaultSampler, daemon: FakeDaemon, clock: FakeClock) -> None:
    live_sampler.start()
    assert wait_until(lambda: live_sampler._cache.last_updated is not None)
    assert daemon.paths().count("/GetSamplingRules") == 1
    live_sampler._cache.last_updated = 1530920000  # older than LastRuleModification 1530920505
    live_sampler.should_trace({"service": "Scorekeep"})
    live_sampler._target_poller._do_work()
    assert wait_until(lambda: daemon.paths().count("/GetSamplingRules") == 2)


def test_no_refresh_when_rules_are_current(
    sampler: DefaultSampler, daemon: FakeDaemon, clock: FakeClock
) -> None:
    sampler._rule_poller._refresh_cache()
    sampler._cache.last_updated = 1530920505  # not older than LastRuleModification
    sampler.should_trace({"service": "Scorekeep"})
    sampler._target_poller._do_work()
    assert not sampler._rule_poller._wake.is_set()
    sampler._cache.last_updated = 1530920504
    sampler.should_trace({"service": "Scorekeep"})
    sampler._target_poller._do_work()
    assert sampler._rule_poller._wake.is_set()


def test_unreachable_endpoint_warns_once(caplog: pytest.LogCaptureFixture, clock: FakeClock) -> None:
    caplog.set_level(logging.DEBUG, logger="fluoro.core.sampling")
    s = DefaultSampler()
    s.start = lambda: None  # type: ignore[method-assign]  # pollers driven by hand
    s.load_settings(DaemonConfig(f"127.0.0.1:{closed_port()}"), None)
    s.load_local_rules(ALWAYS_LOCAL)
    for _ in range(3):
        s._rule_poller._refresh_cache()
    s._cache.load_rules([SamplingRule("Default", 10000, 0.05, 1, "*", "*", "*", "*", "*")])
    s._cache.rules[0].increment_request_count()
    s._target_poller._do_work()
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "127.0.0.1" in warnings[0].getMessage()
    assert sum(r.levelno == logging.DEBUG and "still failing" in r.getMessage() for r in caplog.records) == 3
    assert s.should_trace() is True  # local fallback meanwhile


def test_endpoint_recovery_is_logged(
    daemon: FakeDaemon, caplog: pytest.LogCaptureFixture, clock: FakeClock
) -> None:
    caplog.set_level(logging.DEBUG, logger="fluoro.core.sampling")
    s = DefaultSampler()
    s.load_settings(DaemonConfig(daemon.address), None)
    daemon.responses["/GetSamplingRules"] = (500, {"message": "boom"})
    s._rule_poller._refresh_cache()
    s._rule_poller._refresh_cache()
    daemon.responses["/GetSamplingRules"] = (200, load("awscli-get-sampling-rules-response.json"))
    s._rule_poller._refresh_cache()
    daemon.responses["/GetSamplingRules"] = (503, {"message": "again"})
    s._rule_poller._refresh_cache()
    levels = [(r.levelno, r.getMessage()) for r in caplog.records if r.name.endswith("connector")]
    assert [lvl for lvl, _ in levels] == [logging.WARNING, logging.DEBUG, logging.INFO, logging.WARNING]
    assert "reachable again" in levels[2][1]
    assert len(s._cache.rules) == 3  # rules kept through the second outage


def test_poller_threads_survive_errors(daemon: FakeDaemon) -> None:
    daemon.responses["/GetSamplingRules"] = (500, {"message": "boom"})
    s = DefaultSampler()
    s.load_settings(DaemonConfig(daemon.address), None)
    s.start()
    try:
        assert wait_until(lambda: daemon.paths().count("/GetSamplingRules") == 1)
        daemon.responses["/GetSamplingRules"] = (200, load("awscli-get-sampling-rules-response.json"))
        s._rule_poller.wake_up()
        assert wait_until(lambda: s._cache.last_updated is not None)
    finally:
        s.stop()


# -- rule cache (upstream test_sampling_rule_cache, ported) -----------------------------------------


def _rules() -> tuple[SamplingRule, ...]:
    rule_0 = SamplingRule(
        "a", 1, 0.1, 1, host="*mydomain*", method="GET", path="myop", service="random", service_type="random"
    )
    rule_1 = SamplingRule(
        "aa", 2, 0.1, 1, host="*random*", method="POST", path="random", service="proxy", service_type="random"
    )
    rule_2 = SamplingRule(
        "b",
        2,
        0.1,
        1,
        host="*",
        method="GET",
        path="ping",
        service="myapp",
        service_type="AWS::EC2::Instance",
    )
    rule_default = SamplingRule("Default", 1000, 0.1, 1)
    return rule_0, rule_1, rule_2, rule_default


def test_rules_sorting() -> None:
    rule_0, rule_1, rule_2, rule_default = _rules()
    cache = RuleCache()
    cache.load_rules([rule_default, rule_2, rule_0, rule_1])
    assert cache.rules == [rule_0, rule_1, rule_2, rule_default]


def test_evict_deleted_rules() -> None:
    rule_0, rule_1, rule_2, rule_default = _rules()
    cache = RuleCache()
    cache.load_rules([rule_default, rule_1, rule_0])
    cache.load_rules([rule_default, rule_2])
    assert len(cache.rules) == 2
    assert rule_1 not in cache.rules and rule_0 not in cache.rules
    assert rule_default.reservoir is not None  # re-loading the same object keeps its reservoir


def test_rule_matching() -> None:
    rule_0, rule_1, rule_2, rule_default = _rules()
    cache = RuleCache()
    now = int(time.time())
    cache.load_rules([rule_default, rule_1, rule_2, rule_0])
    cache.last_updated = now
    assert cache.get_matched_rule({"host": "mydomain.com"}, now).name == "a"
    assert cache.get_matched_rule({"method": "POST"}, now).name == "aa"
    assert cache.get_matched_rule({"path": "ping"}, now).name == "b"
    assert cache.get_matched_rule({"service": "proxy"}, now).name == "aa"
    assert cache.get_matched_rule({"service_type": "AWS::EC2::Instance"}, now).name == "b"
    assert cache.get_matched_rule({"host": "unknown", "path": "unknown"}, now).is_default()


def test_preserving_sampling_statistics() -> None:
    rule_0, _, _, rule_default = _rules()
    cache = RuleCache()
    cache.load_rules([rule_default, rule_0])
    rule_0.increment_request_count()
    rule_0.increment_sampled_count()
    rule_0.reservoir.load_quota(quota=3, TTL=15, interval=None)
    cache.load_rules([rule_default, SamplingRule(name="a", priority=1, rate=0.1, reservoir_size=1)])
    stats = cache.rules[0].snapshot_statistics()
    assert stats["request_count"] == 1 and stats["sampled_count"] == 1
    assert cache.rules[0].reservoir.quota == 3 and cache.rules[0].reservoir.TTL == 15


def test_correct_target_mapping() -> None:
    rule_0, _, _, rule_default = _rules()
    cache = RuleCache()
    cache.load_rules([rule_default, rule_0])
    cache.load_targets(
        {
            "a": {"quota": 3, "TTL": None, "interval": None, "rate": 0.1},
            "b": {"quota": 2, "TTL": None, "interval": None, "rate": 0.1},
            "Default": {"quota": 5, "TTL": None, "interval": None, "rate": 0.2},
        }
    )
    assert rule_0.reservoir.quota == 3
    assert rule_default.reservoir.quota == 5 and rule_default.rate == 0.2


def test_expired_cache() -> None:
    rule_0, rule_1, rule_2, rule_default = _rules()
    cache = RuleCache()
    now = int(time.time())
    cache.load_rules([rule_default, rule_1, rule_2, rule_0])
    req = {"host": "myhost.com", "method": "GET", "path": "operation", "service": "app"}
    assert cache.get_matched_rule(req, now) is None  # never refreshed
    cache.last_updated = now - 60 * 60 * 24
    assert cache.get_matched_rule(req, now) is None
    cache.last_updated = now
    assert cache.get_matched_rule(req, now).is_default()


# -- reservoir ------------------------------------------------------------------------------------------


def test_reservoir_decisions() -> None:
    r = Reservoir()
    assert r.borrow_or_take(100, can_borrow=False) is None
    assert r.borrow_or_take(100, can_borrow=True) is ReservoirDecision.BORROW
    assert r.borrow_or_take(100, can_borrow=True) is ReservoirDecision.NO
    r.load_quota(1, 200, None)
    assert r.borrow_or_take(101, True) is ReservoirDecision.TAKE
    assert r.borrow_or_take(101, True) is ReservoirDecision.NO
    assert r.borrow_or_take(200, True) is ReservoirDecision.TAKE  # TTL is inclusive
    assert r.borrow_or_take(201, True) is ReservoirDecision.BORROW
    r.load_quota(None, None, None)  # None keeps the previous values
    assert (r.quota, r.TTL) == (1, 200)


def test_reservoir_matches_upstream_decisions() -> None:
    upstream = pytest.importorskip("aws_xray_sdk.core.sampling.reservoir")
    import random

    rng = random.Random(7)
    ours, theirs = Reservoir(), upstream.Reservoir()
    now = 1000
    for _ in range(2000):
        now += rng.choice((0, 0, 0, 1))
        if rng.random() < 0.02:
            quota, ttl = rng.choice((None, 0, 1, 3)), rng.choice((None, now - 1, now + 5))
            ours.load_quota(quota, ttl, 10)
            theirs.load_quota(quota, ttl, 10)
        can_borrow = rng.random() < 0.8
        a, b = ours.borrow_or_take(now, can_borrow), theirs.borrow_or_take(now, can_borrow)
        assert (a.value if a else None) == (b.value if b else None)


def test_stop_then_restart_runs_one_pair_of_pollers(daemon: FakeDaemon) -> None:
    s = DefaultSampler()
    s.load_settings(DaemonConfig(daemon.address), None)
    try:
        s.start()
        first = s._rule_poller._thread
        s.stop()
        s.start()
        assert first is not None and first is not s._rule_poller._thread
        first.join(timeout=5)
        assert not first.is_alive()
        alive = [t for t in threading.enumerate() if t.name == "fluoro-sampling-rules" and t.is_alive()]
        assert alive == [s._rule_poller._thread]
    finally:
        s.stop()


def test_child_after_fork_restarts_pollers(daemon: FakeDaemon) -> None:
    from fluoro.core.sampling import sampler as module

    s = DefaultSampler()
    s.load_settings(DaemonConfig(daemon.address), None)
    try:
        s.start()
        assert s._started
        module._after_fork_in_child()  # what os.register_at_fork runs in the child
        assert s._started is False
        assert s._lock.acquire(blocking=False)
        s._lock.release()
    finally:
        s.stop()


def test_sampling_calls_are_marked(daemon: FakeDaemon, monkeypatch: pytest.MonkeyPatch) -> None:
    import http.client

    from fluoro.core.sampling.connector import in_sampling_request

    seen: list[tuple[str, bool]] = []
    original = http.client.HTTPConnection.request

    def spy(self, method, url, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append((url, in_sampling_request()))
        return original(self, method, url, *args, **kwargs)

    monkeypatch.setattr(http.client.HTTPConnection, "request", spy)
    c = _connector(daemon)
    c.fetch_sampling_target(c.fetch_sampling_rules())
    assert seen == [("/GetSamplingRules", True), ("/SamplingTargets", True)]
    assert in_sampling_request() is False

"""LocalSampler and local SamplingRule: manifest validation, matching and per-second reservoirs."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from fluoro.core.exceptions.exceptions import InvalidSamplingManifestError
from fluoro.core.sampling import _clock
from fluoro.core.sampling.local import sampler as local_sampler_module
from fluoro.core.sampling.local.reservoir import Reservoir
from fluoro.core.sampling.local.sampler import LocalSampler
from fluoro.core.sampling.local.sampling_rule import SamplingRule

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
SAMPLING_FIXTURES = SHARED / "fixtures" / "xray" / "sampling"

RULE = {
    "description": "Player moves.",
    "host": "*",
    "http_method": "*",
    "url_path": "/api/move/*",
    "fixed_target": 0,
    "rate": 0.05,
}

RULE_MANIFEST = {
    "version": 2,
    "rules": [
        {
            "description": "Player moves.",
            "host": "*",
            "http_method": "*",
            "url_path": "/api/move/*",
            "fixed_target": 0,
            "rate": 0,
        }
    ],
    "default": {"fixed_target": 1, "rate": 1},
}


class FakeClock:
    def __init__(self, start: float = 1_700_000_000.25) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(_clock, "now", fake)
    return fake


def _fixture(name: str) -> dict:
    if not SAMPLING_FIXTURES.is_dir():
        pytest.skip(f"shared fixtures not found at {SAMPLING_FIXTURES}")
    return json.loads((SAMPLING_FIXTURES / name).read_text())


# -- upstream public behaviour ---------------------------------------------------------


def test_should_trace() -> None:
    sampler = LocalSampler(RULE_MANIFEST)
    assert sampler.should_trace({"method": "GET", "path": "/view"})
    assert not sampler.should_trace({"host": "name", "method": "method", "path": "/api/move/left"})


def test_missing_version_num() -> None:
    rule = copy.deepcopy(RULE_MANIFEST)
    del rule["version"]
    with pytest.raises(InvalidSamplingManifestError):
        LocalSampler(rule)


def test_default_matching() -> None:
    assert LocalSampler(RULE_MANIFEST).should_trace()


def test_path_matching() -> None:
    rule = SamplingRule(RULE)
    assert rule.applies("name", "GET", "/api/move/up")
    assert rule.applies(None, "POST", "/api/move/up")
    assert rule.applies("name", None, "/api/move/up")
    assert rule.applies("name", "PUT", None)
    assert not rule.applies(None, "GET", "/root")


def test_negative_rate() -> None:
    rule = dict(RULE, rate=-1)
    with pytest.raises(InvalidSamplingManifestError):
        SamplingRule(rule)


def test_negative_fixed_target() -> None:
    rule = dict(RULE, fixed_target=-1)
    with pytest.raises(InvalidSamplingManifestError):
        SamplingRule(rule)


def test_invalid_default() -> None:
    with pytest.raises(InvalidSamplingManifestError):
        SamplingRule(RULE, 2, default=True)


def test_incomplete_path_rule() -> None:
    rule = copy.deepcopy(RULE)
    del rule["url_path"]
    with pytest.raises(InvalidSamplingManifestError):
        SamplingRule(rule)


# -- manifests and validation ------------------------------------------------------------


def test_packaged_default_manifest() -> None:
    import pkgutil

    raw = pkgutil.get_data("fluoro.core.sampling.local.sampler", "sampling_rule.json")
    assert raw is not None
    assert json.loads(raw) == {"version": 2, "default": {"fixed_target": 1, "rate": 0.05}, "rules": []}
    # Upstream exposes the parsed manifest as a module attribute.
    assert local_sampler_module.local_sampling_rule == json.loads(raw)


def test_default_sampler_uses_default_manifest(clock: FakeClock) -> None:
    sampler = LocalSampler()
    sampler._random.random = lambda: 0.5  # never below 5%
    assert sampler.should_trace() is True  # the 1/s reservoir
    assert sampler.should_trace({"host": "a", "method": "GET", "path": "/"}) is False
    clock.advance(1)
    assert sampler.should_trace() is True
    assert sampler._default_rule.fixed_target == 1
    assert sampler._default_rule.rate == 0.05


def test_unsupported_version_message() -> None:
    with pytest.raises(InvalidSamplingManifestError) as info:
        LocalSampler({"version": 3, "default": {"fixed_target": 1, "rate": 0.1}})
    assert str(info.value) == "Manifest version: 3 is not supported."


def test_missing_default() -> None:
    with pytest.raises(InvalidSamplingManifestError, match="A default rule must be provided."):
        LocalSampler({"version": 2, "rules": []})


@pytest.mark.parametrize("missing", ["fixed_target", "rate"])
def test_missing_numbers_are_manifest_errors(missing: str) -> None:
    rule = dict(RULE)
    del rule[missing]
    with pytest.raises(InvalidSamplingManifestError):
        SamplingRule(rule)
    with pytest.raises(InvalidSamplingManifestError):
        LocalSampler({"version": 2, "default": {"fixed_target": 1}})


def test_validation_messages_name_the_host_key() -> None:
    with pytest.raises(InvalidSamplingManifestError) as info:
        SamplingRule({"fixed_target": 1, "rate": 0.1, "http_method": "GET", "url_path": "/"}, version=1)
    assert "service_name" in str(info.value)
    with pytest.raises(InvalidSamplingManifestError) as info:
        SamplingRule({"fixed_target": 1, "rate": 0.1, "host": "x"}, version=2, default=True)
    assert str(info.value) == "The default rule must not specify values for url_path, host, or http_method"


def test_v1_rule_ignores_host_key() -> None:
    # In a version 1 manifest the host is called ``service_name``; ``host`` is not read.
    rule = {"host": "*", "http_method": "*", "url_path": "/x", "fixed_target": 0, "rate": 0}
    with pytest.raises(InvalidSamplingManifestError):
        LocalSampler({"version": 1, "default": {"fixed_target": 0, "rate": 0}, "rules": [rule]})


def test_failed_load_keeps_previous_rules() -> None:
    sampler = LocalSampler(RULE_MANIFEST)
    bad = copy.deepcopy(RULE_MANIFEST)
    bad["rules"].append({"host": "*", "fixed_target": 1, "rate": 1})
    with pytest.raises(InvalidSamplingManifestError):
        sampler.load_local_rules(bad)
    assert len(sampler._rules) == 1
    assert sampler._default_rule.rate == 1


def test_rule_properties() -> None:
    rule = SamplingRule(RULE)
    assert (rule.host, rule.method, rule.path) == ("*", "*", "/api/move/*")
    assert (rule.fixed_target, rule.rate, rule.version) == (0, 0.05, 2)
    assert isinstance(rule.reservoir, Reservoir)


# -- matching and decisions ------------------------------------------------------------------


def test_first_matching_rule_wins_in_manifest_order() -> None:
    manifest = {
        "version": 2,
        "default": {"fixed_target": 0, "rate": 0},
        "rules": [
            {"host": "api.*", "http_method": "GET", "url_path": "/health", "fixed_target": 0, "rate": 0},
            {"host": "*", "http_method": "*", "url_path": "/health", "fixed_target": 0, "rate": 1},
        ],
    }
    sampler = LocalSampler(manifest)
    assert sampler.should_trace({"host": "api.example.com", "method": "GET", "path": "/health"}) is False
    assert sampler.should_trace({"host": "web.example.com", "method": "GET", "path": "/health"}) is True
    assert sampler.should_trace({"host": "web.example.com", "method": "GET", "path": "/other"}) is False


def test_service_key_is_ignored_and_missing_fields_match() -> None:
    # Upstream quirk kept: only host/method/path are read, absent ones match implicitly, so
    # the recorder's ``{'service': name}`` request is decided by the first custom rule.
    sampler = LocalSampler(RULE_MANIFEST)
    assert sampler.should_trace({"service": "anything"}) is False
    assert sampler.should_trace() is True


def test_matching_is_case_insensitive() -> None:
    sampler = LocalSampler(RULE_MANIFEST)
    assert not sampler.should_trace({"host": "X", "method": "get", "path": "/API/MOVE/up"})


def test_reservoir_per_wall_clock_second(clock: FakeClock) -> None:
    manifest = {"version": 2, "default": {"fixed_target": 3, "rate": 0}, "rules": []}
    sampler = LocalSampler(manifest)
    assert [sampler.should_trace() for _ in range(5)] == [True, True, True, False, False]
    clock.advance(0.5)  # 1_700_000_000.75: same second
    assert sampler.should_trace() is False
    clock.advance(0.5)  # next second: fresh budget
    assert [sampler.should_trace() for _ in range(4)] == [True, True, True, False]


def test_rate_comparison_is_strict(clock: FakeClock) -> None:
    manifest = {"version": 2, "default": {"fixed_target": 0, "rate": 0.25}, "rules": []}
    sampler = LocalSampler(manifest)
    sampler._random.random = lambda: 0.25
    assert sampler.should_trace() is False
    sampler._random.random = lambda: 0.2499
    assert sampler.should_trace() is True


def test_rate_is_roughly_respected() -> None:
    manifest = {"version": 2, "default": {"fixed_target": 0, "rate": 0.3}, "rules": []}
    sampler = LocalSampler(manifest)
    sampler._random.seed(1234)
    hits = sum(sampler.should_trace() for _ in range(20_000))
    assert 5_500 < hits < 6_500


def test_reservoir_is_thread_safe(clock: FakeClock) -> None:
    import threading

    reservoir = Reservoir(100)
    results: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        local = [reservoir.take() for _ in range(50)]
        with lock:
            results.extend(local)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(results) == 100


# -- shared fixture manifests (Go SDK examples) -----------------------------------------------


def test_go_sdk_v2_manifest() -> None:
    sampler = LocalSampler(_fixture("xray-sdk-go-local-rules-v2.json"))
    rule = sampler._rules[0]
    assert (rule.host, rule.method, rule.path, rule.fixed_target, rule.rate) == (
        "*",
        "*",
        "/checkout",
        10,
        0.05,
    )
    assert sampler._default_rule.fixed_target == 1
    assert [
        sampler.should_trace({"host": "h", "method": "POST", "path": "/checkout"}) for _ in range(10)
    ] == [True] * 10


def test_go_sdk_v1_manifest() -> None:
    sampler = LocalSampler(_fixture("xray-sdk-go-local-rules-v1.json"))
    rule = sampler._rules[0]
    assert rule.version == 1
    assert (rule.host, rule.path, rule.fixed_target) == ("*", "/checkout", 10)
    assert rule.applies("svc", "GET", "/checkout")
    assert not rule.applies("svc", "GET", "/cart")

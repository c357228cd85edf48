"""Real centralized samplers in separate processes against a running fluoro server.

The child processes poll targets every 0.5 s (fluoro) or 2 s (aws-xray-sdk) instead of 10 s:
``sampler._target_poller._interval`` is the poll-interval knob of both SDKs (a plain attribute
the poller loop reads).  aws-xray-sdk's rule poller acts on a wake-up only at its next 1-second
tick, so its target interval must stay above that for "within one cycle" to hold, as it does
with the real 10 s.  The rule poller keeps its 5-minute interval, so a rule change can only reach the
process the way it does in production: ``LastRuleModification`` in a targets response wakes it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest

from fluoro.server import FluoroServer

from ..helpers import REPO, wait_for

# The child prints one JSON line per decision: {"cycle": <target polls done>, "rule": <name or false>}.
CHILD = r"""
import json, sys, time, threading
port, flavour, service, interval = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
if flavour == "fluoro":
    from fluoro.core.daemon_config import DaemonConfig
    from fluoro.core.sampling.sampler import DefaultSampler
    context = None
else:
    from aws_xray_sdk.core.daemon_config import DaemonConfig
    from aws_xray_sdk.core.sampling.sampler import DefaultSampler
    from aws_xray_sdk.core.context import Context
    context = Context()  # upstream's connector wraps its calls in a dummy segment
sampler = DefaultSampler()
sampler.load_settings(DaemonConfig(f"127.0.0.1:{port}"), context)
sampler._target_poller._interval = interval  # the knob: seconds between GetSamplingTargets calls
cycles = [0]
work = sampler._target_poller._do_work
def counted():
    work()
    cycles[0] += 1
sampler._target_poller._do_work = counted
while True:
    decision = sampler.should_trace({"service": service, "host": "shop.local", "method": "GET", "path": "/cart"})
    loaded = bool(sampler._cache.rules) and sampler._cache._is_expired(int(time.time())) is False
    print(json.dumps({"cycle": cycles[0], "rule": decision, "loaded": loaded}), flush=True)
    time.sleep(0.01)
"""


class Child:
    """A sampler process and the decisions it printed so far."""

    def __init__(self, port: int, flavour: str, service: str, interval: float) -> None:
        # Both SDKs let AWS_XRAY_* variables override the address given in code.
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_XRAY_")}
        env.update(PYTHONPATH=str(REPO), AWS_XRAY_SDK_ENABLED="true")
        self.proc = subprocess.Popen([sys.executable, "-c", CHILD, str(port), flavour, service, str(interval)], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)  # fmt: skip
        self.lines: list[dict[str, Any]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(json.loads(line))

    def mark(self) -> int:
        """How many decisions have been read (later ones were made after this call)."""
        return len(self.lines)

    def since(self, mark: int) -> list[dict[str, Any]]:
        return self.lines[mark:]

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def quiet_default(xray: Any) -> Iterator[None]:
    """Default samples nothing, so every sampled decision comes from the rule under test."""
    xray.update_sampling_rule(SamplingRuleUpdate={"RuleName": "Default", "FixedRate": 0.0, "ReservoirSize": 0})
    yield
    xray.update_sampling_rule(SamplingRuleUpdate={"RuleName": "Default", "FixedRate": 0.05, "ReservoirSize": 1})


def rule(name: str, service: str, rate: float) -> dict[str, Any]:
    return {"RuleName": name, "ResourceARN": "*", "Priority": 1, "FixedRate": rate, "ReservoirSize": 0,
            "ServiceName": service, "ServiceType": "*", "Host": "*", "HTTPMethod": "*", "URLPath": "*",
            "Version": 1}  # fmt: skip


def first_change(child: Child, mark: int, predicate: Any) -> dict[str, Any] | None:
    def find() -> dict[str, Any] | None:
        return next((line for line in child.since(mark) if predicate(line)), None)

    return wait_for(find, timeout=30)


@pytest.mark.parametrize(("flavour", "interval"), [("fluoro", 0.5), ("aws-xray-sdk", 2.0)])
def test_rule_changes_reach_a_running_sampler_within_one_poll(
    server: FluoroServer, xray: Any, quiet_default: None, flavour: str, interval: float
) -> None:
    service = f"live-{flavour}"
    child = Child(server.port, flavour, service, interval)
    try:
        # Centralized rules loaded and sampling nothing (Default: rate 0, reservoir 0).
        assert wait_for(lambda: sum(1 for line in child.lines if line["loaded"]) >= 50, timeout=30), child.lines[-3:]
        loaded_at = next(i for i, line in enumerate(child.lines) if line["loaded"])
        assert not any(line["rule"] for line in child.lines[loaded_at:])
        # Wait for a first targets report so the rule poller's timestamp is older than the change.
        assert wait_for(lambda: child.lines and child.lines[-1]["cycle"] >= 1, timeout=30)

        mark = child.mark()
        cycle_at_change = child.lines[mark - 1]["cycle"]
        xray.create_sampling_rule(SamplingRule=rule("live-rule", service, 1.0))
        try:
            sampled = first_change(child, mark, lambda line: line["rule"] == "live-rule")
            assert sampled is not None, "the new rule never reached the sampler"
            # The poll in flight during the change may have missed it; the next one must not.
            assert sampled["cycle"] - cycle_at_change <= 2, (cycle_at_change, sampled)
            after = child.since(child.lines.index(sampled))
            assert all(line["rule"] == "live-rule" for line in after)

            mark = child.mark()
            cycle_at_change = child.lines[mark - 1]["cycle"]
            xray.update_sampling_rule(SamplingRuleUpdate={"RuleName": "live-rule", "FixedRate": 0.0})
            stopped = first_change(child, mark, lambda line: line["rule"] is False)
            assert stopped is not None, "the update never reached the sampler"
            assert stopped["cycle"] - cycle_at_change <= 2, (cycle_at_change, stopped)
        finally:
            xray.delete_sampling_rule(RuleName="live-rule")
    finally:
        child.stop()
    # Its reports were counted for GetSamplingStatisticSummaries.
    summaries = xray.get_sampling_statistic_summaries()["SamplingStatisticSummaries"]
    assert sum(s["RequestCount"] for s in summaries if s["RuleName"] == "live-rule") > 0


def test_aws_cli_get_sampling_rules(server: FluoroServer) -> None:
    aws = str(Path(sys.executable).with_name("aws"))
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_PAGER": ""}  # fmt: skip
    out = subprocess.run([aws, "xray", "get-sampling-rules", "--endpoint-url", f"http://127.0.0.1:{server.port}",
                          "--output", "json"], env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert out.returncode == 0, out.stderr
    records = json.loads(out.stdout)["SamplingRuleRecords"]
    default = next(r for r in records if r["SamplingRule"]["RuleName"] == "Default")
    assert default["SamplingRule"]["Priority"] == 10000 and default["SamplingRule"]["Attributes"] == {}
    created = subprocess.run([aws, "xray", "create-group", "--group-name", "cli-group", "--filter-expression", "fault",
                              "--endpoint-url", f"http://127.0.0.1:{server.port}", "--output", "json"],
                             env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["Group"]["FilterExpression"] == "fault"

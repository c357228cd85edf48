"""Instructions per operation of fluoro's SDK hot paths, counted with valgrind's callgrind.

Wall-clock medians swing on a shared machine; instruction counts do not, so A/B
decisions on the hot paths use these. Each scenario of ``sdk_overhead.py`` runs twice
under callgrind (``n`` and ``3n`` operations, ``PYTHONHASHSEED=0``); the difference
divided by ``2n`` is the cost of one operation, start-up and warm-up cancelled out.
Run alone: ``.venv/bin/python bench/sdk_instructions.py [--n 2000]`` (needs valgrind).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys

_CHILD = r"""
import socket, sys
sys.path.insert(0, %(bench)r)
from sdk_overhead import xray_like_scenarios
import fluoro.core as core
from fluoro.core.context import Context
from fluoro.core.emitters.udp_emitter import UDPEmitter
from fluoro.core.sampling.local.sampler import LocalSampler
sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sink.bind(("127.0.0.1", 0))
sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
fn = xray_like_scenarios(core.xray_recorder, Context, LocalSampler, UDPEmitter, sink.getsockname()[1])[%(scenario)r]
fn(200)  # warm-up: caches, lazy imports
fn(%(n)d)
"""


def count(scenario: str, n: int) -> int:
    code = _CHILD % {"bench": os.path.dirname(os.path.abspath(__file__)), "scenario": scenario, "n": n}
    env = dict(os.environ, PYTHONHASHSEED="0", AWS_XRAY_SDK_ENABLED="true")
    proc = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c", code],
                          capture_output=True, text=True, env=env, check=True)
    match = re.search(r"Collected : (\d+)", proc.stderr)
    if not match:
        raise RuntimeError(proc.stderr[-2000:])
    return int(match.group(1))


SCENARIOS = ["begin+end subsegment", "@capture call", "@capture call, unsampled segment", "with in_subsegment()",
             "segment + 1 subsegment, serialized, sent over UDP"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=2000, help="operations in the short run (the long run does 3n)")
    parser.add_argument("--scenario", action="append", help="only these scenarios (repeatable)")
    args = parser.parse_args()
    if not shutil.which("valgrind"):
        sys.exit("valgrind is not installed (apt-get install valgrind)")
    print("instructions per operation (callgrind, PYTHONHASHSEED=0, (Ir(3n) - Ir(n)) / 2n, n=%d)" % args.n)
    for scenario in args.scenario or SCENARIOS:
        n = args.n if "UDP" not in scenario else args.n // 4
        short, long_ = count(scenario, n), count(scenario, 3 * n)
        print("%-52s %9.0f" % (scenario, (long_ - short) / (2 * n)))


if __name__ == "__main__":
    main()

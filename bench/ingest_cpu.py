"""CPU per typical segment of each stage of the UDP receive path, in one process.

    python bench/ingest_cpu.py [--docs N] [--gc]

Stages run over N typical datagrams (bench/_common.typical_segment: 1.3 KB, 2 subsegments);
each prints the best of 5 runs in CPU microseconds per segment (``time.process_time``).
Child = the UDP receiver process (split, decode, validate, append, ship);
pump = the parent thread that turns a shipped batch into an ``ArrowBatch``.
GC is disabled unless ``--gc`` (the receiver process runs with it frozen).
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import msgspec  # noqa: E402

from bench._common import HEADER, dumps, machine, typical_segment  # noqa: E402
from fluoro.ingest import ingest, split_datagram  # noqa: E402
from fluoro.ingest.document import append, decode, validate  # noqa: E402
from fluoro.store.api import SegmentBatch  # noqa: E402
from fluoro.store.columns import ArrowBatch  # noqa: E402


def best_us(fn: Callable[[], Any], n: int, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        fn()
        best = min(best, time.process_time() - started)
    return best / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--gc", action="store_true", help="leave the garbage collector on")
    args = parser.parse_args()
    if not args.gc:
        gc.disable()
    rng = random.Random(1)
    now = time.time()
    pool = [HEADER + dumps(typical_segment(rng, now)) for _ in range(args.docs)]
    n = len(pool)
    print(machine())
    print(f"{n} datagrams, {sum(map(len, pool)) / n:.0f} bytes each on average, gc {'on' if args.gc else 'off'}")
    rows: list[tuple[str, float]] = []

    def stage(label: str, fn: Callable[[], Any]) -> None:
        rows.append((label, best_us(fn, n)))
        print(f"{label:<44} {rows[-1][1]:7.2f} us/segment", flush=True)

    stage("child: split_datagram", lambda: [split_datagram(d) for d in pool])
    bodies = [split_datagram(d) for d in pool]
    stage("child: decode (lenient Entity)", lambda: [decode(b) for b in bodies])
    entities = [decode(b) for b in bodies]
    stage("child: validate", lambda: [validate(e, []) for e in entities])

    def validate_append() -> SegmentBatch:
        batch = SegmentBatch()
        for e, body in zip(entities, bodies):
            ann: list[tuple[str, Any]] = []
            append(batch, e, body, 1.0, validate(e, ann), ann)
        return batch

    stage("child: validate + append", validate_append)

    def full() -> SegmentBatch:
        batch = SegmentBatch()
        for d in pool:
            ingest(batch, split_datagram(d), 1.0)
        return batch

    stage("child: split + ingest (all of the above)", full)
    batch = full()
    encode = msgspec.msgpack.Encoder().encode
    stage("child: msgpack encode of the columns", lambda: encode(vars(batch)))
    blob = encode(vars(batch))
    stage("pump: msgpack decode", lambda: msgspec.msgpack.decode(blob))
    stage(
        "pump: msgpack decode + ArrowBatch.from_batch",
        lambda: ArrowBatch.from_batch(SegmentBatch(**msgspec.msgpack.decode(blob))),
    )
    stage("child: ArrowBatch.from_batch", lambda: ArrowBatch.from_batch(batch))
    arrow = ArrowBatch.from_batch(batch)
    stage("child: ArrowBatch.to_ipc", arrow.to_ipc)
    ipc = arrow.to_ipc()
    stage("pump: ArrowBatch.from_ipc", lambda: ArrowBatch.from_ipc(*ipc))


if __name__ == "__main__":
    main()

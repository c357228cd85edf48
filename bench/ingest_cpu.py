"""CPU per typical segment of each stage of the UDP receive path, in one process.

Compares the lenient lane with msgpack transfer (what the receiver did before)
with the strict lane and Arrow IPC transfer (what it does now), in the same run.

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
from fluoro.ingest.datagram import datagram_body  # noqa: E402
from fluoro.ingest.document import append, decode, validate  # noqa: E402
from fluoro.ingest.fast import _decode, document_rows  # noqa: E402
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
    parser.add_argument("--batch", type=int, default=2000, help="documents per shipped batch (the receiver's default)")
    parser.add_argument("--gc", action="store_true", help="leave the garbage collector on")
    args = parser.parse_args()
    if not args.gc:
        gc.disable()
    rng = random.Random(1)
    now = time.time()
    pool = [HEADER + dumps(typical_segment(rng, now)) for _ in range(args.docs)]
    n = len(pool)
    # Like the receiver, work goes batch by batch and each batch's objects are freed before the next.
    chunks = [pool[i : i + args.batch] for i in range(0, n, args.batch)]
    print(machine())
    print(f"{n} datagrams of {sum(map(len, pool)) / n:.0f} bytes on average, {args.batch} per batch, "
          f"gc {'on' if args.gc else 'off'}; best of 5, CPU us per segment")  # fmt: skip
    totals: dict[str, float] = {}

    def stage(label: str, per_chunk: Callable[[list[bytes]], Any], total: str = "") -> None:
        us = best_us(lambda: [per_chunk(c) for c in chunks], n)
        if total:
            totals[total] = totals.get(total, 0.0) + us
        print(f"  {label:<50} {us:7.2f}", flush=True)

    encode = msgspec.msgpack.Encoder().encode

    def lenient_batch(chunk: list[bytes]) -> SegmentBatch:
        batch = SegmentBatch()
        for d in chunk:
            ingest(batch, split_datagram(d), 1.0)
        return batch

    def validate_append(chunk: list[bytes]) -> None:
        batch = SegmentBatch()
        for d in chunk:
            body = split_datagram(d)
            e = decode(body)
            ann: list[tuple[str, Any]] = []
            append(batch, e, body, 1.0, validate(e, ann), ann)

    blobs = {id(c): encode(vars(lenient_batch(c))) for c in chunks}
    print("lenient lane + msgpack (the receiver before):")
    stage("child: split_datagram", lambda c: [split_datagram(d) for d in c])
    stage("child: split + decode (Any-typed Entity)", lambda c: [decode(split_datagram(d)) and None for d in c])
    stage("child: split + decode + validate + append", validate_append)
    stage("child: split + decode + validate + append (ingest)", lenient_batch, "child before")
    batches = {id(c): lenient_batch(c) for c in chunks}
    stage("child: msgpack encode", lambda c: encode(vars(batches[id(c)])), "child before")
    stage("pump: msgpack decode + ArrowBatch.from_batch",
          lambda c: ArrowBatch.from_batch(SegmentBatch(**msgspec.msgpack.decode(blobs[id(c)]))), "pump before")  # fmt: skip

    def strict_rows(chunk: list[bytes]) -> tuple[list[Any], list[Any]]:
        rows: list[Any] = []
        annotations: list[Any] = []
        for d in chunk:
            row, anns = document_rows(datagram_body(d), 1.0)
            rows.append(row)
            if anns:
                annotations.extend(anns)
        return rows, annotations

    def strict_ship(chunk: list[bytes]) -> tuple[bytes, bytes]:
        return ArrowBatch.from_rows(*strict_rows(chunk)).to_ipc()

    ipcs = {id(c): strict_ship(c) for c in chunks}
    print("strict lane + Arrow IPC (fluoro.ingest.fast; the receiver now):")
    stage("child: datagram_body (a view, no copy)", lambda c: [datagram_body(d) for d in c])
    stage("child: body + strict decode", lambda c: [_decode(datagram_body(d)) and None for d in c])
    stage("child: body + decode + checks + row tuples", strict_rows, "child now")
    rows = {id(c): strict_rows(c) for c in chunks}
    stage("child: ArrowBatch.from_rows", lambda c: ArrowBatch.from_rows(*rows[id(c)]), "child now")
    arrow = {id(c): ArrowBatch.from_rows(*rows[id(c)]) for c in chunks}
    stage("child: ArrowBatch.to_ipc", lambda c: arrow[id(c)].to_ipc(), "child now")
    stage("pump: ArrowBatch.from_ipc", lambda c: ArrowBatch.from_ipc(*ipcs[id(c)]), "pump now")
    print("totals (the recv syscalls and the pipe transfer are not included):")
    for label, us in totals.items():
        print(f"  {label:<50} {us:7.2f}")
    before = totals["child before"] + totals["pump before"]
    after = totals["child now"] + totals["pump now"]
    print(f"  child + pump, before / now: {before:.2f} / {after:.2f} = {before / after:.2f}x")


if __name__ == "__main__":
    main()

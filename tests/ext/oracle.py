"""aws-xray-sdk 2.15 as the oracle: run one scenario through both SDKs and compare subsegments.

Both global recorders are configured alike (capturing emitter, fresh context,
``sampling=False``) and restored afterwards. A scenario gets one recorder and runs its
calls inside ``recorder.in_segment``; while one SDK records, the other has no segment
(``context_missing='IGNORE_ERROR'``), so libraries patched by both record once each.
:func:`shape` keeps what a patcher is responsible for: names, namespaces, ``sql``,
``http``, ``aws``, annotations, flags and exception types.
"""

from __future__ import annotations

import contextlib
import importlib
import json

import aws_xray_sdk.core as upstream_core
import pytest
from aws_xray_sdk.core.context import Context as UpstreamContext

import fluoro.core as fluoro_core
from fluoro.core.context import Context as FluoroContext


class CapturingEmitter:
    def __init__(self) -> None:
        self.documents: list = []

    def send_entity(self, entity) -> None:  # type: ignore[no-untyped-def]
        self.documents.append(json.loads(entity.serialize()))

    def set_daemon_address(self, address) -> None:  # type: ignore[no-untyped-def]
        pass


def _snapshot(recorder):  # type: ignore[no-untyped-def]
    return dict(vars(recorder)), recorder.streaming_threshold


def _restore(recorder, snapshot) -> None:  # type: ignore[no-untyped-def]
    state, threshold = snapshot
    recorder.__dict__.clear()
    recorder.__dict__.update(state)
    recorder.streaming_threshold = threshold


@pytest.fixture
def recorders():  # type: ignore[no-untyped-def]
    """``{'upstream': recorder, 'fluoro': recorder}``, freshly configured; restored afterwards."""
    pairs = {"upstream": (upstream_core.xray_recorder, UpstreamContext),
             "fluoro": (fluoro_core.xray_recorder, FluoroContext)}
    saved = {sdk: _snapshot(rec) for sdk, (rec, _) in pairs.items()}
    out = {}
    for sdk, (rec, context_cls) in pairs.items():
        rec.configure(sampling=False, context=context_cls(context_missing="IGNORE_ERROR"),
                      emitter=CapturingEmitter(), service="test", context_missing="IGNORE_ERROR",
                      stream_sql=True)
        out[sdk] = rec
    yield out
    for sdk, (rec, _) in pairs.items():
        rec.clear_trace_entities()
        _restore(rec, saved[sdk])


def shape(entity: dict) -> dict:
    """The patcher-relevant fields of a subsegment tree."""
    out: dict = {"name": entity.get("name"), "namespace": entity.get("namespace")}
    for key in ("sql", "http", "annotations", "metadata"):
        if key in entity:
            out[key] = entity[key]
    if "aws" in entity and entity.get("type") == "subsegment":
        out["aws"] = entity["aws"]
    for flag in ("error", "fault", "throttle"):
        if entity.get(flag):
            out[flag] = True
    cause = entity.get("cause")
    if isinstance(cause, dict):
        out["exceptions"] = [(e.get("type"), e.get("message"), e.get("remote", False))
                             for e in cause.get("exceptions", [])]
    if entity.get("subsegments"):
        out["subsegments"] = [shape(s) for s in entity["subsegments"]]
    return out


def run_both(recorders, scenario) -> dict:  # type: ignore[no-untyped-def]
    """``scenario(recorder)`` under each SDK: ``{'upstream': [shapes], 'fluoro': [shapes]}``."""
    out = {}
    for sdk, rec in recorders.items():
        scenario(rec)
        out[sdk] = [shape(doc) for doc in rec.emitter.documents]
    return out


@contextlib.contextmanager
def upstream_patched(name: str, targets: list, flags: list = ()):  # type: ignore[no-untyped-def,assignment]
    """aws-xray-sdk's ``patch((name,))`` for the duration of the block, then undone.

    ``targets`` are ``(module, 'attr')`` or ``(module, 'Class.attr')`` pairs the upstream
    patcher replaces; ``flags`` are ``(module, 'attr')`` guards it sets. Undoing keeps
    upstream's wrappers out of every other test.
    """
    from aws_xray_sdk.core import patcher as upstream_patcher

    saved = []
    for module, path in targets:
        owner = importlib.import_module(module)
        *parents, attr = path.split(".")
        for parent in parents:
            owner = getattr(owner, parent)
        saved.append((owner, attr, vars(owner).get(attr, getattr(owner, attr, None))))
    try:
        upstream_core.patch((name,))
        yield
    finally:
        for owner, attr, value in saved:
            setattr(owner, attr, value)
        for module, attr in flags:
            owner = importlib.import_module(module)
            if hasattr(owner, attr):
                delattr(owner, attr)
        upstream_patcher._PATCHED_MODULES.discard(name)


def assert_same(result: dict) -> None:
    """fluoro's shapes equal upstream's; on failure, a line diff of the two."""
    if result["fluoro"] == result["upstream"]:
        return
    import difflib

    lines = [json.dumps(result[sdk], indent=1, sort_keys=True, default=str).splitlines() for sdk in ("upstream", "fluoro")]
    diff = "\n".join(difflib.unified_diff(lines[0], lines[1], "upstream", "fluoro", lineterm="", n=2))
    raise AssertionError("fluoro differs from upstream:\n" + diff)

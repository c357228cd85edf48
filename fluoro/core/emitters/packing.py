"""Fit segment documents into UDP datagrams.

Upstream sends whatever it serialized and loses anything over 64 KB ("Message too
long", issues #21, #201, #351). Here an oversized document is split: closed subtrees
are detached and sent as standalone subsegment documents (the daemon protocol already
allows them: they carry ``trace_id``, ``parent_id`` and ``type``), largest first,
until the rest fits. A single entity still too large on its own has its metadata,
then long strings, then stack frames cut, and is marked with
``metadata.fluoro.truncated`` so a reader knows data is missing.
"""

from __future__ import annotations

import logging

from ..utils.jsonenc import dumps_bytes

log = logging.getLogger(__name__)

#: Bytes a datagram may carry after the header line (Java's SDK uses the same margin).
MAX_DOCUMENT_BYTES = 63 * 1024
_STRING_CUT = 1024


def split_document(doc: dict, limit: int = MAX_DOCUMENT_BYTES) -> list[bytes]:
    """Encoded documents, each at most ``limit`` bytes, that together carry ``doc``."""
    encoded = dumps_bytes(doc)
    if len(encoded) <= limit:
        return [encoded]
    out: list[bytes] = []
    _detach_subtrees(doc, limit, out)
    encoded = dumps_bytes(doc)
    if len(encoded) > limit:
        encoded = _truncate(doc, limit, len(encoded))
    out.append(encoded)
    return out


def _standalone(child: dict, parent: dict) -> dict:
    child.setdefault("trace_id", parent.get("trace_id"))
    child["parent_id"] = parent["id"]
    child["type"] = "subsegment"
    return child


def _detach_subtrees(doc: dict, limit: int, out: list[bytes]) -> None:
    """Move children out of ``doc`` (recursively) until ``doc`` fits, biggest first."""
    children = doc.get("subsegments")
    if not children:
        return
    sized = sorted(((len(dumps_bytes(c)), i) for i, c in enumerate(children)), reverse=True)
    detached: set[int] = set()
    for size, index in sized:
        child = children[index]
        if size > limit:
            # Too big to send whole: split it first (its own children go out separately).
            out.extend(split_document(_standalone(child, doc), limit))
        else:
            out.append(dumps_bytes(_standalone(child, doc)))
        detached.add(index)
        remaining = [c for i, c in enumerate(children) if i not in detached]
        doc["subsegments"] = remaining
        if len(dumps_bytes(doc)) <= limit:
            break
    if not doc["subsegments"]:
        del doc["subsegments"]


def _truncate(doc: dict, limit: int, original: int) -> bytes:
    marks: dict = {"original_bytes": original}
    if doc.get("metadata"):
        marks["metadata_removed"] = sorted(doc["metadata"])
        doc["metadata"] = {}
    doc.setdefault("metadata", {})["fluoro"] = {"truncated": marks}
    encoded = dumps_bytes(doc)
    if len(encoded) > limit:
        marks["strings_cut_to"] = _STRING_CUT
        for key in ("sql", "http", "annotations", "aws", "cause"):
            if key in doc:
                doc[key] = _cut_strings(doc[key])
        encoded = dumps_bytes(doc)
    if len(encoded) > limit and isinstance(doc.get("cause"), dict):
        for exc in doc["cause"].get("exceptions", []):
            exc.pop("stack", None)
        marks["stacks_removed"] = True
        encoded = dumps_bytes(doc)
    if len(encoded) > limit:
        # Last resort: keep only what identifies the entity and its timing.
        keep = ("id", "name", "trace_id", "parent_id", "start_time", "end_time", "in_progress",
                "type", "namespace", "origin", "error", "fault", "throttle")
        slim = {k: doc[k] for k in keep if k in doc}
        slim["metadata"] = {"fluoro": {"truncated": dict(marks, fields_removed=True)}}
        encoded = dumps_bytes(slim)
    log.warning("Segment document %s was %d bytes, over the %d byte datagram limit; truncated and marked.",
                doc.get("id"), original, limit)
    return encoded


def _cut_strings(value: object) -> object:
    if isinstance(value, str):
        return value if len(value) <= _STRING_CUT else value[:_STRING_CUT] + "…"
    if isinstance(value, dict):
        return {k: _cut_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_cut_strings(v) for v in value[:100]]
    return value

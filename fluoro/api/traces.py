"""PutTraceSegments, BatchGetTraces, GetTraceSummaries."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.concurrency import run_in_threadpool

from fluoro.api.context import ApiContext, Handler
from fluoro.api.errors import InternalFailure, InvalidRequest, Throttled
from fluoro.daemon.pipeline import Overloaded
from fluoro.ingest import MAX_DOCUMENT, Reject, ingest
from fluoro.query.service import InvalidQuery
from fluoro.store.api import SegmentBatch


async def put_trace_segments(ctx: ApiContext, body: dict[str, Any]) -> dict[str, Any]:
    docs = body.get("TraceSegmentDocuments")
    if not isinstance(docs, list):
        raise InvalidRequest("TraceSegmentDocuments is required and must be a list of strings")
    batch = SegmentBatch()
    unprocessed: list[dict[str, str]] = []
    received = time.time()
    ctx.metrics.received += len(docs)
    for doc in docs:
        try:
            if not isinstance(doc, str):
                raise Reject("InvalidSegment", "each segment document must be a JSON string")
            raw = doc.encode("utf-8", "surrogatepass")
            if len(raw) > MAX_DOCUMENT:
                raise Reject("DocumentTooLarge", f"document is {len(raw)} bytes, the limit is {MAX_DOCUMENT}")
            ingest(batch, raw, received)
        except Reject as exc:
            ctx.metrics.reject(exc.code)
            ctx.pipeline.reject_log("HTTP", exc)
            entry = {"ErrorCode": exc.code, "Message": exc.message}
            if exc.segment_id:
                entry["Id"] = exc.segment_id
            unprocessed.append(entry)
    if len(batch):
        await _commit(ctx, batch)
    return {"UnprocessedTraceSegments": unprocessed}


async def _commit(ctx: ApiContext, batch: SegmentBatch) -> None:
    """Return once the store has committed ``batch``: a 200 means durable."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[BaseException | None] = loop.create_future()

    def resolve(error: BaseException | None) -> None:
        if not done.done():
            done.set_result(error)

    def ack(error: BaseException | None) -> None:
        loop.call_soon_threadsafe(resolve, error)

    try:
        ctx.pipeline.submit_batch(batch, ack)
    except Overloaded as exc:
        raise Throttled(f"Ingest queue is full, retry later: {exc}") from None
    error = await done
    if error is not None:
        raise InternalFailure(f"The store failed to commit the segments: {type(error).__name__}")


async def batch_get_traces(ctx: ApiContext, body: dict[str, Any]) -> dict[str, Any]:
    try:
        return await run_in_threadpool(ctx.queries.batch_get_traces, body)
    except InvalidQuery as exc:
        raise InvalidRequest(str(exc)) from None


async def get_trace_summaries(ctx: ApiContext, body: dict[str, Any]) -> dict[str, Any]:
    try:
        return await run_in_threadpool(ctx.queries.get_trace_summaries, body)
    except InvalidQuery as exc:
        raise InvalidRequest(str(exc)) from None


HANDLERS: dict[str, Handler] = {
    "PutTraceSegments": put_trace_segments,
    "BatchGetTraces": batch_get_traces,
    "GetTraceSummaries": get_trace_summaries,
}

"""GetServiceGraph, GetTraceGraph, GetTimeSeriesServiceStatistics."""

from __future__ import annotations

from typing import Any, Callable

from starlette.concurrency import run_in_threadpool

from fluoro.api import groups
from fluoro.api.context import ApiContext, Handler
from fluoro.api.errors import InvalidRequest, NotImplementedOp
from fluoro.query.graph_service import GraphQueries
from fluoro.query.service import InvalidQuery


def _graphs(ctx: ApiContext) -> GraphQueries:
    if ctx.graphs is None:
        raise NotImplementedOp("This server runs without a service-graph store")
    return ctx.graphs


async def _group(ctx: ApiContext, body: dict[str, Any]) -> str | None:
    """The filter of the group named by GroupName/GroupARN (None: no group, or Default)."""
    return await run_in_threadpool(groups.group_filter, ctx, body)


async def _call(fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    try:
        return await run_in_threadpool(fn, *args)
    except InvalidQuery as exc:
        raise InvalidRequest(str(exc)) from None


async def get_service_graph(ctx: ApiContext, body: dict[str, Any]) -> dict[str, Any]:
    graphs = _graphs(ctx)
    return await _call(graphs.get_service_graph, body, await _group(ctx, body))


async def get_trace_graph(ctx: ApiContext, body: dict[str, Any]) -> dict[str, Any]:
    return await _call(_graphs(ctx).get_trace_graph, body)


async def get_time_series_service_statistics(ctx: ApiContext, body: dict[str, Any]) -> dict[str, Any]:
    graphs = _graphs(ctx)
    return await _call(graphs.get_time_series_service_statistics, body, await _group(ctx, body))


HANDLERS: dict[str, Handler] = {
    "GetServiceGraph": get_service_graph,
    "GetTraceGraph": get_trace_graph,
    "GetTimeSeriesServiceStatistics": get_time_series_service_statistics,
}

"""A layered (left-to-right) layout for service graphs, so the map stays readable at 50 nodes.

Sugiyama in brief: break cycles, give each node the layer of its longest path
from a source, put a waypoint on every layer a long edge crosses, order each
layer by the barycentre of its neighbours, then space nodes evenly.
"""

from __future__ import annotations

from typing import Any

LAYER_GAP = 230.0
ROW_GAP = 120.0
WAYPOINT_GAP = 28.0  # long edges pass between nodes in a narrow lane, not a full row
MARGIN = 90.0
SWEEPS = 8
MAX_NODES = 10_000


class LayoutError(ValueError):
    """The Services list is not shaped like a GetServiceGraph answer."""


def _graph(services: Any) -> tuple[list[int], dict[int, list[int]], dict[int, int]]:
    if not isinstance(services, list):
        raise LayoutError("Services is required and must be a list")
    if len(services) > MAX_NODES:
        raise LayoutError(f"Services has {len(services)} nodes, the limit is {MAX_NODES}")
    ids: list[int] = []
    kind: dict[int, int] = {}
    for service in services:
        ref = service.get("ReferenceId") if isinstance(service, dict) else None
        if not isinstance(ref, int) or isinstance(ref, bool):
            raise LayoutError("every service needs an integer ReferenceId")
        if ref in kind:
            raise LayoutError(f"ReferenceId {ref} appears twice")
        ids.append(ref)
        kind[ref] = 0 if service.get("Type") == "client" else 1
    out: dict[int, list[int]] = {ref: [] for ref in ids}
    for service in services:
        edges = service.get("Edges") or []
        if not isinstance(edges, list):
            raise LayoutError("Edges must be a list")
        for edge in edges:
            target = edge.get("ReferenceId") if isinstance(edge, dict) else None
            if target in out and target != service["ReferenceId"] and target not in out[service["ReferenceId"]]:
                out[service["ReferenceId"]].append(target)
    return ids, out, kind


def _acyclic(ids: list[int], out: dict[int, list[int]], kind: dict[int, int]) -> dict[int, list[int]]:
    """Drop back edges found by a depth-first walk that starts at clients, then at sources."""
    indegree = {ref: 0 for ref in ids}
    for targets in out.values():
        for target in targets:
            indegree[target] += 1
    starts = sorted(ids, key=lambda ref: (kind[ref], indegree[ref] > 0, ref))
    state: dict[int, int] = {}  # 1 on the stack, 2 done
    dag: dict[int, list[int]] = {ref: [] for ref in ids}
    for start in starts:
        if start in state:
            continue
        stack = [(start, iter(out[start]))]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                continue  # a back edge: leave it out of the layering
            else:
                dag[node].append(child)
                if child not in state:
                    state[child] = 1
                    stack.append((child, iter(out[child])))
    return dag


def _layers(ids: list[int], dag: dict[int, list[int]]) -> dict[int, int]:
    indegree = {ref: 0 for ref in ids}
    for targets in dag.values():
        for target in targets:
            indegree[target] += 1
    layer = {ref: 0 for ref in ids}
    ready = [ref for ref in ids if indegree[ref] == 0]
    while ready:
        node = ready.pop()
        for target in dag[node]:
            layer[target] = max(layer[target], layer[node] + 1)
            indegree[target] -= 1
            if indegree[target] == 0:
                ready.append(target)
    return layer


def _centre(node: Any, near_layer: int, adjacency: dict[Any, list[Any]], rank: dict[Any, int],
            order: dict[Any, int]) -> float:
    """The barycentre of a node's neighbours on the adjacent layer (its own place if none)."""
    near = [order[n] for n in adjacency[node] if rank[n] == near_layer]
    return sum(near) / len(near) if near else float(order[node])


def layout_services(services: Any) -> dict[str, Any]:
    ids, out, kind = _graph(services)
    dag = _acyclic(ids, out, kind)
    layer = _layers(ids, dag)

    # Waypoints, keyed (low, high, layer), on every layer a long edge crosses.
    rank: dict[Any, int] = dict(layer)
    adjacency: dict[Any, list[Any]] = {ref: [] for ref in ids}
    chains: dict[tuple[int, int], list[Any]] = {}
    for source in ids:
        for target in out[source]:
            low, high = (source, target) if layer[source] < layer[target] else (target, source)
            chain: list[Any] = [low]
            for step in range(layer[low] + 1, layer[high]):
                waypoint = (low, high, step)
                rank[waypoint] = step
                adjacency.setdefault(waypoint, [])
                chain.append(waypoint)
            chain.append(high)
            for a, b in zip(chain, chain[1:]):
                if a != b:
                    adjacency[a].append(b)
                    adjacency[b].append(a)
            chains[(source, target)] = chain if low == source else list(reversed(chain))

    depth = max(rank.values(), default=0) + 1
    rows: list[list[Any]] = [[] for _ in range(depth)]
    for node in sorted(rank, key=lambda n: (isinstance(n, tuple), str(n))):
        rows[rank[node]].append(node)

    order = {node: i for row in rows for i, node in enumerate(row)}
    for sweep in range(SWEEPS):
        sequence = range(1, depth) if sweep % 2 == 0 else range(depth - 2, -1, -1)
        neighbour_layer = -1 if sweep % 2 == 0 else 1
        for index in sequence:
            row = rows[index]
            centres = {node: _centre(node, index + neighbour_layer, adjacency, rank, order) for node in row}
            row.sort(key=centres.__getitem__)
            for i, node in enumerate(row):
                order[node] = i

    def gap(a: Any, b: Any) -> float:
        real = (not isinstance(a, tuple)) + (not isinstance(b, tuple))
        return ROW_GAP if real == 2 else WAYPOINT_GAP if real == 0 else (ROW_GAP + WAYPOINT_GAP) / 2

    heights = [sum(gap(a, b) for a, b in zip(row, row[1:])) for row in rows]
    tallest = max(heights, default=0.0)
    position: dict[Any, tuple[float, float]] = {}
    for index, row in enumerate(rows):
        y = MARGIN + (tallest - heights[index]) / 2
        for i, node in enumerate(row):
            if i:
                y += gap(row[i - 1], node)
            position[node] = (MARGIN + index * LAYER_GAP, y)

    nodes = [{"id": ref, "x": position[ref][0], "y": position[ref][1], "layer": layer[ref]} for ref in ids]
    edges = [
        {"source": source, "target": target, "points": [list(position[node]) for node in chain]}
        for (source, target), chain in chains.items()
    ]
    return {
        "nodes": nodes,
        "edges": edges,
        "width": MARGIN * 2 + max(depth - 1, 0) * LAYER_GAP,
        "height": MARGIN * 2 + tallest,
    }

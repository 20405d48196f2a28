"""The in-repo dependency graph: strongly connected components and cycle paths."""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Iterable, Mapping

__all__ = ["Graph", "find_cycles", "make_graph", "strongly_connected"]

Graph = dict[str, list[str]]  # role -> the in-repo roles it depends on (sorted)


def make_graph(roles: Iterable[str], edges: Iterable[tuple[str, str]]) -> Graph:
    """Adjacency ``role -> dependencies`` over ``roles``; edges to unknown roles are dropped."""
    graph: dict[str, set[str]] = {r: set() for r in roles}
    for role, dep in edges:
        if role in graph and dep in graph:
            graph[role].add(dep)
    return {r: sorted(ds) for r, ds in sorted(graph.items())}


def strongly_connected(graph: Mapping[str, Collection[str]]) -> list[list[str]]:
    """Tarjan's components (iterative, so deep graphs do not hit the recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    result: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, pos = work.pop()
            if pos == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            succ = list(graph.get(node, ()))
            advanced = False
            while pos < len(succ):
                nxt = succ[pos]
                pos += 1
                if nxt not in index:
                    work.append((node, pos))
                    work.append((nxt, 0))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                result.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return result


def _cycle_path(graph: Mapping[str, Collection[str]], members: set[str]) -> list[str]:
    """The shortest cycle through the smallest member, as ``[a, b, ..., a]``."""
    start = min(members)
    if start in graph.get(start, ()):
        return [start, start]
    previous: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in sorted(graph.get(node, ())):
            if nxt not in members:
                continue
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return [*reversed(path), start]
            if nxt not in previous:
                previous[nxt] = node
                queue.append(nxt)
    return [start, start]  # unreachable for a true component


def find_cycles(graph: Mapping[str, Collection[str]]) -> list[list[str]]:
    """One cycle path per circular group of roles, e.g. ``[["a", "b", "a"]]``, sorted."""
    cycles: list[list[str]] = []
    for component in strongly_connected(graph):
        members = set(component)
        if len(members) > 1 or component[0] in graph.get(component[0], ()):
            cycles.append(_cycle_path(graph, members))
    return sorted(cycles)

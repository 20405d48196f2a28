"""The in-repo dependency graph: strongly connected components and cycle paths."""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Iterable, Mapping

__all__ = ["Graph", "cyclic_components", "find_cycles", "make_graph", "strongly_connected"]

Graph = dict[str, list[str]]  # role -> the in-repo roles it depends on (sorted)


def make_graph(roles: Iterable[str], edges: Iterable[tuple[str, str]]) -> Graph:
    """Adjacency ``role -> dependencies`` over ``roles``; edges to unknown roles are dropped."""
    graph: dict[str, set[str]] = {r: set() for r in roles}
    for role, dep in edges:
        if role in graph and dep in graph:
            graph[role].add(dep)
    return {r: sorted(ds) for r, ds in sorted(graph.items())}


def strongly_connected(graph: Mapping[str, Collection[str]]) -> list[list[str]]:
    """Kosaraju's components, each sorted (iterative, so deep graphs do not hit the
    recursion limit): finish order of a depth-first walk, then the walk on reversed edges."""
    finished: list[str] = []
    seen: set[str] = set()
    for root in graph:
        if root in seen:
            continue
        seen.add(root)
        stack = [(root, iter(graph.get(root, ())))]
        while stack:
            node, successors = stack[-1]
            nxt = next((n for n in successors if n not in seen), None)
            if nxt is None:
                finished.append(stack.pop()[0])
            else:
                seen.add(nxt)
                stack.append((nxt, iter(graph.get(nxt, ()))))
    reverse: dict[str, list[str]] = {}
    for node, deps in graph.items():
        for nxt in deps:
            reverse.setdefault(nxt, []).append(node)
    assigned: set[str] = set()
    result: list[list[str]] = []
    for root in reversed(finished):
        if root in assigned:
            continue
        assigned.add(root)
        component, todo = [], [root]
        while todo:
            node = todo.pop()
            component.append(node)
            for prev in reverse.get(node, ()):
                if prev not in assigned:
                    assigned.add(prev)
                    todo.append(prev)
        result.append(sorted(component))
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


def cyclic_components(graph: Mapping[str, Collection[str]]) -> list[tuple[list[str], list[str]]]:
    """``(members, one cycle path through them)`` for each circular group of roles."""
    return [(c, _cycle_path(graph, set(c))) for c in strongly_connected(graph)
            if len(c) > 1 or c[0] in graph.get(c[0], ())]


def find_cycles(graph: Mapping[str, Collection[str]]) -> list[list[str]]:
    """One cycle path per circular group of roles, e.g. ``[["a", "b", "a"]]``, sorted."""
    return sorted(path for _members, path in cyclic_components(graph))

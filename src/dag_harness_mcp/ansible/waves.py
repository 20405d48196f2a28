"""The in-repo dependency graph (strongly connected components, cycle paths) and its waves.

A role's wave is 0 without in-repo dependencies, else 1 + the highest dependency wave.
Roles on a cycle, or needing one, get no wave (``None``) and the plan names the cycle;
a ``harness.yml`` pin may push a role later, never before a dependency (WavePinError).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from dag_harness_mcp.errors import ConfigError, WavePinError

__all__ = ["Graph", "WavePlan", "collect_pins", "cyclic_components", "make_graph", "plan_waves",
           "strongly_connected"]


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


@dataclass
class WavePlan:
    """The wave of every role (``None`` when blocked by a cycle) and the cycles found."""

    waves: dict[str, int | None] = field(default_factory=dict)
    cycles: list[list[str]] = field(default_factory=list)
    blocked: dict[str, list[str]] = field(default_factory=dict)  # role -> the cycle it waits on
    pinned: set[str] = field(default_factory=set)
    unknown_pins: list[str] = field(default_factory=list)


def collect_pins(entries: Iterable[tuple[int, Iterable[str]]]) -> dict[str, int]:
    """``{role: wave}`` from ``(wave, roles)`` entries; a role pinned twice is a ConfigError."""
    pins: dict[str, int] = {}
    for wave, roles in entries:
        for role in roles:
            if role in pins and pins[role] != wave:
                raise ConfigError(
                    "waves",
                    role,
                    f"role '{role}' is pinned to both wave {pins[role]} and wave {wave}; keep one",
                )
            pins[role] = wave
    return pins


def plan_waves(
    graph: Mapping[str, Collection[str]],
    pins: Mapping[str, int] | None = None,
) -> WavePlan:
    """Assign waves over ``graph`` (``role -> in-repo dependencies``), honouring ``pins``."""
    pins = dict(pins or {})
    graph = {r: sorted({d for d in ds if d in graph}) for r, ds in graph.items()}
    components = cyclic_components(graph)
    plan = WavePlan(cycles=sorted(path for _members, path in components))
    plan.unknown_pins = sorted(r for r in pins if r not in graph)
    cyclic = {member: path for members, path in components for member in members}

    # (graph is normalised above: every dependency is a role of it, listed once, sorted)
    dependants: dict[str, list[str]] = {r: [] for r in graph}
    for role, deps in graph.items():
        for dep in deps:
            dependants[dep].append(role)
    remaining = {role: len(deps) for role, deps in graph.items()}
    ready = deque(sorted(r for r, n in remaining.items() if n == 0))
    while ready:
        role = ready.popleft()
        deps = graph[role]
        wave = 1 + max((plan.waves[d] or 0) for d in deps) if deps else 0
        pin = pins.get(role)
        if pin is not None:
            if pin < wave:
                culprit = max(deps, key=lambda d: plan.waves[d] or 0)
                raise WavePinError(role, pin, culprit, plan.waves[culprit] or 0)
            wave = pin
            plan.pinned.add(role)
        plan.waves[role] = wave
        for child in dependants[role]:
            remaining[child] -= 1
            if remaining[child] == 0:
                ready.append(child)

    # What is left sits on a cycle or needs a role that does.
    for role in sorted(r for r in graph if r not in plan.waves):
        plan.waves[role] = None
        plan.blocked[role] = cyclic.get(role) or _cycle_reached(role, graph, cyclic)
    return plan


def _cycle_reached(
    role: str, graph: Mapping[str, Collection[str]], cyclic: Mapping[str, list[str]]
) -> list[str]:
    seen = {role}
    queue = deque([role])
    while queue:
        node = queue.popleft()
        for dep in sorted(graph.get(node, ())):
            if dep in cyclic:
                return cyclic[dep]
            if dep not in seen:
                seen.add(dep)
                queue.append(dep)
    return []

"""Waves: 0 for roles without in-repo dependencies, else 1 + the highest dependency wave.
Roles on a cycle, or needing one, get no wave (``None``) and the plan names the cycle;
a ``harness.yml`` pin may push a role later, never before a dependency (WavePinError).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from dag_harness_mcp.ansible.graph import cyclic_components
from dag_harness_mcp.errors import ConfigError, CycleError, WavePinError

__all__ = ["WavePlan", "collect_pins", "plan_waves"]


@dataclass
class WavePlan:
    """The wave of every role (``None`` when blocked by a cycle) and the cycles found."""

    waves: dict[str, int | None] = field(default_factory=dict)
    cycles: list[list[str]] = field(default_factory=list)
    blocked: dict[str, list[str]] = field(default_factory=dict)  # role -> the cycle it waits on
    pinned: set[str] = field(default_factory=set)
    unknown_pins: list[str] = field(default_factory=list)

    def groups(self) -> list[tuple[int, list[str]]]:
        """``[(wave, sorted roles), ...]`` in wave order, without blocked roles."""
        by_wave: dict[int, list[str]] = {}
        for role, wave in self.waves.items():
            if wave is not None:
                by_wave.setdefault(wave, []).append(role)
        return [(w, sorted(rs)) for w, rs in sorted(by_wave.items())]

    def require_acyclic(self) -> None:
        """Raise :class:`CycleError` for the first cycle, if any."""
        if self.cycles:
            raise CycleError(self.cycles[0])


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

    dependants: dict[str, list[str]] = {r: [] for r in graph}
    remaining: dict[str, int] = {}
    for role, deps in graph.items():
        remaining[role] = len(set(deps))
        for dep in set(deps):
            dependants.setdefault(dep, []).append(role)
    ready = deque(sorted(r for r, n in remaining.items() if n == 0))
    while ready:
        role = ready.popleft()
        deps = set(graph.get(role, ()))
        wave = 1 + max((plan.waves[d] or 0) for d in deps) if deps else 0
        pin = pins.get(role)
        if pin is not None:
            if pin < wave:
                culprit = max(sorted(deps), key=lambda d: plan.waves[d] or 0)
                raise WavePinError(role, pin, culprit, plan.waves[culprit] or 0)
            wave = pin
            plan.pinned.add(role)
        plan.waves[role] = wave
        for child in dependants.get(role, ()):
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

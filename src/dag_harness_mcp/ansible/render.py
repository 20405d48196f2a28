"""Render the role graph as Mermaid or Graphviz DOT, roles grouped by wave.

Edges point from a dependency to the role that needs it: the order things run.
Role names are validated (no quotes or brackets), so they are safe as labels.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["render_dot", "render_mermaid"]

Roles = Iterable[tuple[str, int | None]]
Edges = Iterable[tuple[str, str]]  # (role, depends_on)


def _grouped(roles: Roles) -> tuple[list[tuple[int | None, list[str]]], dict[str, str]]:
    by_wave: dict[int | None, list[str]] = {}
    for name, wave in roles:
        by_wave.setdefault(wave, []).append(name)
    order = sorted(by_wave, key=lambda w: (w is None, w if w is not None else 0))
    groups = [(w, sorted(by_wave[w])) for w in order]
    ids: dict[str, str] = {}
    for _, names in groups:
        for name in names:
            ids[name] = f"r{len(ids)}"
    return groups, ids


def _title(wave: int | None) -> str:
    return f"Wave {wave}" if wave is not None else "No wave (dependency cycle)"


def render_mermaid(roles: Roles, edges: Edges) -> str:
    """Compact Mermaid (no indentation, one line per dependency with all its dependants
    joined by ``&``): a 200-role graph stays a few kilobytes for an agent to read."""
    groups, ids = _grouped(roles)
    lines = ["flowchart TD"]
    for wave, names in groups:
        key = f"wave_{wave}" if wave is not None else "no_wave"
        lines.append(f'subgraph {key}["{_title(wave)}"]')
        lines.extend(f'{ids[n]}["{n}"]' for n in names)
        lines.append("end")
    dependants: dict[str, list[str]] = {}
    for role, dep in sorted(set(edges)):
        if role in ids and dep in ids:
            dependants.setdefault(dep, []).append(ids[role])
    for dep in sorted(dependants, key=lambda n: _number(ids[n])):
        lines.append(f"{ids[dep]} --> {' & '.join(sorted(dependants[dep], key=_number))}")
    return "\n".join(lines) + "\n"


def _number(node_id: str) -> int:
    return int(node_id[1:])


def render_dot(roles: Roles, edges: Edges) -> str:
    groups, ids = _grouped(roles)
    lines = ["digraph roles {", "    rankdir=TB;", "    node [shape=box];"]
    for wave, names in groups:
        key = f"cluster_wave_{wave}" if wave is not None else "cluster_no_wave"
        lines.append(f'    subgraph {key} {{ label="{_title(wave)}";')
        lines.extend(f'        "{n}";' for n in names)
        lines.append("    }")
    for role, dep in sorted(set(edges)):
        if role in ids and dep in ids:
            lines.append(f'    "{dep}" -> "{role}";')
    lines.append("}")
    return "\n".join(lines) + "\n"

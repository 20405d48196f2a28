"""The role graph as Mermaid or Graphviz DOT, roles grouped by wave, edges from a dependency
to the role that needs it. A role name Mermaid cannot take as a node id (``a/b``, a keyword
such as ``end``) gets a readable id and keeps its name as the quoted label.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["render_dot", "render_mermaid"]

Roles = Iterable[tuple[str, int | None]]
Edges = Iterable[tuple[str, str]]  # (role, depends_on)


def _grouped(roles: Roles) -> tuple[list[tuple[int | None, list[str]]], dict[str, int]]:
    """Roles by wave (waves in order, cycle-blocked last) and each role's position."""
    by_wave: dict[int | None, list[str]] = {}
    for name, wave in roles:
        by_wave.setdefault(wave, []).append(name)
    order = sorted(by_wave, key=lambda w: (w is None, w if w is not None else 0))
    groups = [(w, sorted(by_wave[w])) for w in order]
    position: dict[str, int] = {}
    for _, names in groups:
        for name in names:
            position[name] = len(position)
    return groups, position


_NOT_ID = re.compile(r"[^A-Za-z0-9_]")
_MERMAID_WORDS = frozenset({"end", "graph", "subgraph", "flowchart", "style", "classdef",
                            "class", "click", "linkstyle", "direction", "default", "call",
                            "href", "callback", "interpolate"})


def _mermaid_ids(groups: list[tuple[int | None, list[str]]]) -> dict[str, str]:
    """A unique Mermaid node id per role: the name itself when Mermaid accepts it."""
    taken = {f"wave_{w}" if w is not None else "no_wave" for w, _ in groups}
    ids: dict[str, str] = {}
    for _, names in groups:
        for name in names:
            base = _NOT_ID.sub("_", name)
            if base.lower() in _MERMAID_WORDS or base in taken:
                base += "_"
            node_id, n = base, 2
            while node_id in taken:
                node_id, n = f"{base}{n}", n + 1
            taken.add(node_id)
            ids[name] = node_id
    return ids


def _title(wave: int | None) -> str:
    return f"Wave {wave}" if wave is not None else "No wave (dependency cycle)"


def render_mermaid(roles: Roles, edges: Edges) -> str:
    """Compact Mermaid (no indentation, one line per dependency with all its dependants
    joined by ``&``): a 200-role graph stays a few kilobytes for an agent to read."""
    groups, position = _grouped(roles)
    ids = _mermaid_ids(groups)
    lines = ["flowchart TD"]
    for wave, names in groups:
        key = f"wave_{wave}" if wave is not None else "no_wave"
        lines.append(f'subgraph {key}["{_title(wave)}"]')
        lines.extend(
            ids[n] if ids[n] == n else f'{ids[n]}["{n.replace(chr(34), "#quot;")}"]'
            for n in names
        )
        lines.append("end")
    dependants: dict[str, list[str]] = {}
    for role, dep in sorted(set(edges)):
        if role in ids and dep in ids:
            dependants.setdefault(dep, []).append(role)
    for dep in sorted(dependants, key=position.__getitem__):
        needing = sorted(dependants[dep], key=position.__getitem__)
        lines.append(f"{ids[dep]} --> {' & '.join(ids[r] for r in needing)}")
    return "\n".join(lines) + "\n"


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

"""Sync and waves on DebOps' real roles, checked edge for edge against a count made here.

The counter below shares nothing with the product: it lists ``roles/*/`` with a glob,
reads ``meta/main.yml`` with plain PyYAML and finds ``import_role``/``include_role``
names in task and handler files with a regular expression over the raw text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from dag_harness_mcp.config import load_settings
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.roles import SyncReport, plan_waves, sync_roles

# `import_role:` / `include_role:` (any collection prefix), then `name:` on a later line of
# the same task, or inline `name=...`.
_ROLE_TASK = re.compile(
    r"(?:^|\s)(?:[\w.]+\.)?(?:import|include)_role:\s*"
    r"(?:(?:name|role)=(?P<inline>\S+)|\n(?P<body>(?:[ \t]+\S.*\n?)+))",
    re.MULTILINE,
)
_NAME_LINE = re.compile(r"^\s+(?:name|role):\s*['\"]?(?P<name>[^'\"\s#]+)", re.MULTILINE)


def _count_roles(roles: Path) -> set[str]:
    markers = ("tasks", "meta", "defaults", "handlers", "vars")
    return {p.name for p in roles.glob("*/") if any((p / m).is_dir() for m in markers)}


def _strip_collection(name: str, names: set[str]) -> str:
    short = name.rsplit(".", 1)[-1] if name.count(".") == 2 else name
    return short if short in names else name


def _count_edges(roles: Path, names: set[str]) -> tuple[set[tuple[str, str]], set[str]]:
    """In-repo edges (role, dependency) and the references that name no role here."""
    edges: set[tuple[str, str]] = set()
    outside: set[str] = set()

    def add(role: str, ref: str, *, meta: bool) -> None:
        target = _strip_collection(ref, names)
        if target not in names:
            outside.add(ref)
        elif target != role or meta:
            edges.add((role, target))

    for role in sorted(names):
        meta = roles / role / "meta" / "main.yml"
        data = yaml.safe_load(meta.read_text()) if meta.is_file() else None
        for dep in (data or {}).get("dependencies") or []:
            add(role, dep if isinstance(dep, str) else dep.get("role", dep.get("name")), meta=True)
        for sub in ("tasks", "handlers"):
            for path in (roles / role / sub).rglob("*.y*ml"):
                for found in _ROLE_TASK.finditer(path.read_text()):
                    ref = found.group("inline")
                    if ref is None:
                        first = _NAME_LINE.search(found.group("body"))
                        ref = first.group("name") if first else None
                    if ref is not None:
                        add(role, ref.strip("'\""), meta=False)
    return edges, outside


def _counted_waves(names: set[str], edges: set[tuple[str, str]]) -> dict[str, int]:
    deps: dict[str, set[str]] = {n: set() for n in names}
    for role, dep in edges:
        deps[role].add(dep)
    waves: dict[str, int] = {}
    while len(waves) < len(names):
        ready = [n for n in names if n not in waves and deps[n] <= waves.keys()]
        assert ready, "the independent count found a cycle"
        for name in ready:
            waves[name] = 1 + max((waves[d] for d in deps[name]), default=-1)
    return waves


@pytest.fixture(scope="module")
def synced(
    debops_collection: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[HarnessApp, SyncReport]]:
    state = tmp_path_factory.mktemp("debops-state")
    settings = load_settings(
        {
            "repo_root": debops_collection,
            "roles_path": "roles",
            "db_path": state / "harness.db",
            "worktree_root": state / "worktrees",
        },
        environ={},
    )
    app = HarnessApp.open(settings)
    try:
        yield app, sync_roles(app)
    finally:
        app.close()


@pytest.fixture(scope="module")
def counted(debops_collection: Path) -> tuple[set[str], set[tuple[str, str]], set[str]]:
    """The independent count: role names, in-repo edges, references to no role here."""
    names = _count_roles(debops_collection / "roles")
    edges, outside = _count_edges(debops_collection / "roles", names)
    return names, edges, outside


def test_sync_finds_every_debops_role_directory(
    synced: tuple[HarnessApp, SyncReport],
    counted: tuple[set[str], set[tuple[str, str]], set[str]],
    debops_collection: Path,
) -> None:
    app, report = synced
    names = counted[0]
    # 201 roles with tasks, plus ansible_plugins and global_handlers (meta/defaults only).
    assert len(names) == 203
    assert len([n for n in names if (debops_collection / "roles" / n / "tasks").is_dir()]) == 201
    assert report.total == 203
    assert report.errors == []
    assert {str(r["name"]) for r in app.db.roles.list()} == names


def test_sync_edges_match_the_independent_count_edge_for_edge(
    synced: tuple[HarnessApp, SyncReport],
    counted: tuple[set[str], set[tuple[str, str]], set[str]],
) -> None:
    app, report = synced
    _names, edges, outside = counted
    stored = {(str(e["role"]), str(e["depends_on"])) for e in app.db.roles.edges()}
    assert stored - edges == set(), "edges the product invents"
    assert edges - stored == set(), "edges the product misses"
    assert len(edges) > 300  # DebOps: nearly every role imports ansible_plugins, global_handlers
    assert report.external == len(outside)
    assert report.cycles == []


def test_waves_put_every_debops_role_after_all_of_its_dependencies(
    synced: tuple[HarnessApp, SyncReport],
    counted: tuple[set[str], set[tuple[str, str]], set[str]],
) -> None:
    app, _report = synced
    names, edges, _outside = counted
    planned = {role: w.wave for w in plan_waves(app) for role in w.roles}
    assert planned == _counted_waves(names, edges)
    assert all(planned[role] > planned[dep] for role, dep in edges)
    assert max(planned.values()) >= 1

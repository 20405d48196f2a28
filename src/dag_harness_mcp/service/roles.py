"""Role operations: sync the roles path into the StateDB, and read roles, dependencies and
waves (names are validated first)."""

from __future__ import annotations

import time
from itertools import groupby
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from dag_harness_mcp.ansible.discovery import discover_roles
from dag_harness_mcp.ansible.references import (
    FILE_SOURCES,
    RoleScan,
    resolve_file_reference,
    resolve_reference,
    scan_role,
)
from dag_harness_mcp.ansible.waves import collect_pins, make_graph
from dag_harness_mcp.ansible.waves import plan_waves as assign_waves
from dag_harness_mcp.db.repos.roles import DependencyEdge, RoleRecord
from dag_harness_mcp.errors import (
    ConfigError,
    InvalidArgumentError,
    InvalidNameError,
    NotFoundError,
)
from dag_harness_mcp.git.checkout import repository_problems
from dag_harness_mcp.names import validate_role_name
from dag_harness_mcp.service.app import ROLES_PATH_KEY, HarnessApp

__all__ = [
    "Edge", "Reach", "Role", "RoleDetail", "RoleStatus", "SyncReport", "Wave", "dependency_graph",
    "get_role", "known_role", "list_roles", "plan_waves", "role_dependencies", "roles_status",
    "sync_roles",
]


class SyncReport(BaseModel):
    """What one sync changed. ``errors`` never stop a sync; cycles leave roles without a wave;
    ``warnings`` name what box-up will need that the repository lacks (a remote, say)."""

    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    total: int = 0
    errors: list[dict[str, str]] = []
    cycles: list[list[str]] = []
    blocked: list[str] = []
    warnings: list[str] = []
    external: int = 0
    dynamic: int = 0
    templated: int = 0
    duration_ms: float = 0.0


def _pins(app: HarnessApp) -> dict[str, int]:
    for pin in app.settings.waves:
        for role in pin.roles:
            try:
                validate_role_name(role)
            except InvalidNameError as exc:
                raise ConfigError("waves", role, str(exc)) from exc
    return collect_pins((p.wave, p.roles) for p in app.settings.waves)


def _inside_repository(repo_root: Path, roles_path: str) -> None:
    """Refuse a roles path that leaves the repository through a symlink: the harness
    commits, tests and pushes what the repository holds, not what a link points at."""
    real = (repo_root / roles_path).resolve()
    top = repo_root.resolve()
    if real == top or top in real.parents:
        return
    link = repo_root
    for part in Path(roles_path).parts:
        link = link / part
        if link.is_symlink():
            break
    raise ConfigError(
        "roles_path", roles_path,
        f"{link} is a symlink to {real}, outside the repository {top} (the repository's "
        "layout, not the harness's): point --roles-path (HARNESS_ROLES_PATH) at the roles "
        "inside the repository, or put the roles themselves there in place of the link")


def sync_roles(app: HarnessApp) -> SyncReport:
    """Scan the roles path and make the StateDB match it, in one transaction; idempotent.

    A role whose YAML does not parse is stored with ``parse_error``; vanished roles are marked
    removed; roles on or behind a dependency cycle get no wave. A missing roles path or a bad
    pin raises before anything is written.
    """
    started = time.perf_counter()
    settings = app.settings
    roles_dir = settings.roles_dir
    if not roles_dir.is_dir():
        raise NotFoundError(
            f"roles path {settings.roles_path!r} does not exist under {settings.repo_root}; "
            "pass --repo/--roles-path (or set HARNESS_REPO_ROOT/HARNESS_ROLES_PATH)")
    _inside_repository(settings.repo_root, settings.roles_path)
    pins = _pins(app)
    found = discover_roles(roles_dir)
    names = {r.name for r in found.roles}
    scans = {role.name: scan_role(role.path) for role in found.roles}
    edges, graph_edges = _edges(scans, names, roles_dir)
    plan = assign_waves(make_graph(names, graph_edges), pins)
    errors = [{"role": rel, "error": why} for rel, why in found.skipped]
    errors += [{"role": name, "error": scan.parse_error}
               for name, scan in scans.items() if scan.parse_error is not None]
    errors += [{"role": name, "error": "pinned in harness.yml `waves` but not found; fix the "
                "name or remove the pin"} for name in plan.unknown_pins]
    records = [
        RoleRecord(name=role.name, path=_relative(role.path, settings.repo_root),
                   wave=plan.waves.get(role.name), wave_pinned=role.name in plan.pinned,
                   has_molecule=scan.has_molecule, has_pytest=scan.has_pytest,
                   description=scan.description, parse_error=scan.parse_error,
                   content_hash=scan.content_hash)
        for role, scan in ((role, scans[role.name]) for role in found.roles)
    ]
    warnings = repository_problems(settings.repo_root, default_branch=settings.default_branch,
                                   remote=settings.remote)
    with app.db.transaction():
        counts = app.db.roles.replace_all(records, edges)
        app.db.remembered.put(ROLES_PATH_KEY, settings.roles_path)
        report = SyncReport(
            added=counts["added"], updated=counts["updated"], removed=counts["removed"],
            unchanged=counts["unchanged"], total=len(records), errors=errors, cycles=plan.cycles,
            blocked=sorted(plan.blocked), warnings=warnings,
            external=sum(1 for e in edges if e.kind == "external"),
            dynamic=sum(1 for e in edges if e.kind == "dynamic"),
            templated=len({(e.role, e.reference) for e in edges if e.kind == "templated"}),
            duration_ms=_elapsed_ms(started))
        app.audit("sync_roles", entity_type="roles", entity_id=settings.roles_path,
                  details=report.model_dump(exclude={"blocked"}))
    report.duration_ms = _elapsed_ms(started)
    return report


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def _edges(
    scans: dict[str, RoleScan], names: set[str], roles_dir: Path
) -> tuple[list[DependencyEdge], list[tuple[str, str]]]:
    """Every reference as a stored edge (deduplicated), and the in-repo edges for waves: a
    templated name gives one edge per role it can match; a file of another role reached by
    path, a ``role`` edge to its owner (files of the role itself are no edges)."""
    edges: dict[tuple[str, str, str, str, str | None], DependencyEdge] = {}
    graph_edges: list[tuple[str, str]] = []
    for name, scan in scans.items():
        for ref in scan.references:
            if ref.source in FILE_SOURCES:
                resolved = resolve_file_reference(ref.reference, ref.source, ref.source_file,
                                                  name, names, lambda p: (roles_dir / p).exists())
            else:
                resolved = resolve_reference(ref.reference, names, referrer=name)
            if resolved is None:
                continue
            for target in resolved.targets or (None,):
                edges[(name, ref.reference, ref.source, ref.source_file, target)] = DependencyEdge(
                    role=name, reference=ref.reference, kind=resolved.kind, source=ref.source,
                    source_file=ref.source_file, target=target)
                # A role including its own tasks (tasks_from) is no dependency; a meta one
                # is a cycle.
                if target is not None and (target != name or ref.source == "meta"):
                    graph_edges.append((name, target))
    return list(edges.values()), graph_edges


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


class Role(BaseModel):
    """A role as the last sync recorded it."""

    name: str
    path: str
    wave: int | None
    wave_pinned: bool
    has_molecule: bool
    has_pytest: bool
    description: str | None
    parse_error: str | None
    status: str
    updated_at: str | None


class Edge(BaseModel):
    """A reference to another role: ``role`` is the target (the referrer, for dependants) or
    the reference as written when it names no role of the repository."""

    role: str
    reference: str
    kind: str
    source: str
    source_file: str | None


class Reach(BaseModel):
    """A role reached through dependencies, ``depth`` edges away."""

    role: str
    depth: int


class Worktree(BaseModel):
    path: str
    branch: str | None


class RecentTestRun(BaseModel):
    id: int
    kind: str
    status: str
    passed: int | None
    failed: int | None
    skipped: int | None
    exit_code: int | None
    duration_ms: float | None
    execution_id: int | None
    started_at: str | None
    finished_at: str | None


class RoleDetail(Role):
    """One role with its edges, dependants, worktree, issue/MR links and recent test runs."""

    dependencies: list[Edge]
    dependants: list[str]
    worktree: Worktree | None
    issue_url: str | None
    mr_url: str | None
    mr_state: str | None
    last_execution_id: int | None
    last_execution_status: str | None
    test_runs: list[RecentTestRun]


class RoleStatus(BaseModel):
    """One line of ``harness status``."""

    role: str = Field(validation_alias="role_name")
    wave: int | None
    parse_error: str | None
    worktree: str | None = Field(validation_alias="worktree_path")
    issue_url: str | None
    mr_url: str | None
    mr_state: str | None
    test_runs: int
    tests_passed: int
    tests_failed: int
    last_execution_id: int | None
    last_execution_status: str | None


class Wave(BaseModel):
    wave: int
    roles: list[str]
    parallel: bool


def known_role(app: HarnessApp, name: object) -> str:
    """The validated name of a role the last sync recorded (NotFoundError otherwise)."""
    role = validate_role_name(name)
    app.db.roles.require(role)
    return role


def list_roles(
    app: HarnessApp, *, wave: int | None = None, limit: int | None = None, offset: int = 0
) -> list[Role]:
    """Active roles in wave order (roles without a wave last), optionally one wave only."""
    if limit is not None and limit < 0:
        raise InvalidArgumentError("limit", limit, "must be 0 or more")
    if offset < 0:
        raise InvalidArgumentError("offset", offset, "must be 0 or more")
    return [Role.model_validate(r) for r in app.db.roles.list(wave=wave, limit=limit,
                                                                offset=offset)]


def _edge(row: dict[str, Any]) -> Edge:
    target = row.get("depends_on", row.get("role"))
    return Edge.model_validate({**row, "role": target if target is not None else row["reference"]})


def get_role(app: HarnessApp, name: str) -> RoleDetail:
    role = validate_role_name(name)
    repo = app.db.roles
    status = repo.status(role) or {}
    path = status.get("worktree_path")
    return RoleDetail.model_validate({
        **repo.require(role), **status,
        "dependencies": [_edge(r) for r in repo.direct_dependencies(role)],
        "dependants": repo.direct_dependants(role),
        "worktree": {"path": path, "branch": status["worktree_branch"]} if path else None,
        "test_runs": repo.recent_test_runs(role),
    })


def roles_status(app: HarnessApp) -> list[RoleStatus]:
    """A one-line status of every active role (``harness status``)."""
    return [RoleStatus.model_validate(r) for r in app.db.roles.statuses()]


def role_dependencies(
    app: HarnessApp, name: str, *, reverse: bool = False, transitive: bool = False
) -> list[Edge] | list[Reach]:
    """Dependencies (or, with ``reverse``, dependants) of a role: one :class:`Edge` per
    reference, or with ``transitive`` every in-repo role reached, by depth then name."""
    role = known_role(app, name)
    repo = app.db.roles
    if transitive:
        rows = repo.transitive_dependants(role) if reverse else repo.transitive_dependencies(role)
        return [Reach.model_validate(r) for r in rows]
    rows = repo.direct_dependant_edges(role) if reverse else repo.direct_dependencies(role)
    return [_edge(r) for r in rows]


def plan_waves(app: HarnessApp) -> list[Wave]:
    """The waves of the last sync, in order."""
    serial = {p.wave for p in app.settings.waves if not p.parallel}
    waved = [r for r in app.db.roles.list() if r["wave"] is not None]  # in wave order
    return [Wave(wave=w, roles=sorted(str(r["name"]) for r in rs), parallel=w not in serial)
            for w, rs in groupby(waved, key=lambda r: int(r["wave"]))]


def dependency_graph(app: HarnessApp, fmt: Literal["mermaid", "dot"] = "mermaid") -> str:
    """The in-repo dependency graph, grouped by wave; edges point dependency → dependant."""
    from dag_harness_mcp.ansible.render import render_dot, render_mermaid

    if fmt not in ("mermaid", "dot"):
        raise InvalidArgumentError("format", fmt, "must be 'mermaid' or 'dot'")
    roles = [(str(r["name"]), r["wave"]) for r in app.db.roles.list()]
    edges = [(str(e["role"]), str(e["depends_on"])) for e in app.db.roles.edges()]
    return render_mermaid(roles, edges) if fmt == "mermaid" else render_dot(roles, edges)

"""CLI commands over roles: sync, list-roles, deps, waves, status, graph (a Rich table, or with
``--json`` one JSON document on stdout; diagnostics on stderr)."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated

import typer

from dag_harness_mcp.cli.common import (
    JsonFlag,
    emit_json,
    err_console,
    open_app,
    plain,
    print_table,
    run_cli,
)
from dag_harness_mcp.service import roles as service

__all__ = ["commands"]

commands = typer.Typer()

RoleArg = Annotated[
    str, typer.Argument(help="Role name, e.g. 'common' or 'kubernetes/control-plane'.")
]


class GraphFormat(StrEnum):
    mermaid = "mermaid"
    dot = "dot"


def _hint_if_empty(rows: Sequence[object]) -> None:
    if not rows:
        err_console.print("no roles known; run `harness sync` (check --repo/--roles-path)")


def _warn(text: str) -> None:
    err_console.print(f"[yellow]warning:[/] {plain(text)}", highlight=False)


@commands.command("sync")
def sync(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Scan the roles path and record roles, dependencies and waves in the StateDB."""
    report = run_cli(lambda: service.sync_roles(open_app(ctx)))
    for error in report.errors:
        _warn(f"{error['role']}: {error['error']}")
    for warning in report.warnings:
        _warn(warning)
    for cycle in report.cycles:
        _warn(f"dependency cycle {' -> '.join(cycle)}; its roles get no wave")
    if as_json:
        return emit_json(report)
    print_table("harness sync", ("total", "added", "updated", "removed", "unchanged", "errors",
                                 "cycles", "ms"),
                [(report.total, report.added, report.updated, report.removed, report.unchanged,
                  len(report.errors), len(report.cycles), report.duration_ms)])


@commands.command("list-roles")
def list_roles(
    ctx: typer.Context,
    wave: Annotated[int | None, typer.Option("--wave", help="Only roles in this wave.")] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="At most this many roles.")] = None,
    offset: Annotated[int, typer.Option("--offset", help="Skip this many roles.")] = 0,
    as_json: JsonFlag = False,
) -> None:
    """List the known roles in wave order."""
    rows = run_cli(lambda: service.list_roles(open_app(ctx), wave=wave, limit=limit, offset=offset))
    if as_json:
        return emit_json(rows)
    _hint_if_empty(rows)
    print_table("roles", ("role", "wave", "molecule", "pytest", "problem"), [
        (r.name, f"{'-' if r.wave is None else r.wave}{' (pinned)' if r.wave_pinned else ''}",
         "yes" if r.has_molecule else "-", "yes" if r.has_pytest else "-", r.parse_error)
        for r in rows])


@commands.command("deps")
def deps(
    ctx: typer.Context,
    role: RoleArg,
    reverse: Annotated[
        bool, typer.Option("--reverse", help="Roles that depend on ROLE instead.")
    ] = False,
    transitive: Annotated[
        bool, typer.Option("--transitive", help="Follow dependencies all the way, with depth.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Show a role's dependencies (or dependants with --reverse)."""
    rows = run_cli(lambda: service.role_dependencies(open_app(ctx), role, reverse=reverse,
                                                     transitive=transitive))
    if as_json:
        return emit_json(rows)
    what = "dependants" if reverse else "dependencies"
    if not rows:
        err_console.print(f"{plain(role)} has no {what}")
    title = f"{what} of {role}"
    if transitive:
        print_table(title, ("role", "depth"),
                    [(r.role, r.depth) for r in rows if isinstance(r, service.Reach)])
    else:
        print_table(title, ("role", "kind", "source", "file"),
                    [(e.role, e.kind, e.source, e.source_file) for e in rows
                     if isinstance(e, service.Edge)])


@commands.command("waves")
def waves(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Show the roles of each wave (from the last sync)."""
    groups = run_cli(lambda: service.plan_waves(open_app(ctx)))
    if as_json:
        return emit_json([g.model_dump(exclude={"parallel"}) for g in groups])
    _hint_if_empty(groups)
    print_table("waves", ("wave", "mode", "roles"), [
        (g.wave, "parallel" if g.parallel else "serial", ", ".join(g.roles)) for g in groups])


def _role_detail(ctx: typer.Context, role: str, as_json: bool) -> None:
    detail = run_cli(lambda: service.get_role(open_app(ctx), role))
    if as_json:
        return emit_json(detail)
    shown: dict[str, object] = detail.model_dump(exclude={"worktree", "test_runs"})
    shown.update(
        dependencies=", ".join(f"{d.role} ({d.kind})" for d in detail.dependencies),
        dependants=", ".join(detail.dependants),
        worktree=detail.worktree and f"{detail.worktree.path} ({detail.worktree.branch})",
        test_runs=", ".join(f"#{t.id} {t.kind} {t.status}" for t in detail.test_runs))
    print_table(f"role {role}", ("field", "value"), shown.items())


@commands.command("status")
def status(
    ctx: typer.Context,
    role: Annotated[str | None, typer.Argument(help="One role; all roles if omitted.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show where each role stands: worktree, issue, MR, tests, last run."""
    if role is not None:
        return _role_detail(ctx, role, as_json)
    rows = run_cli(lambda: service.roles_status(open_app(ctx)))
    if as_json:
        return emit_json(rows)
    _hint_if_empty(rows)
    print_table("status", ("role", "wave", "worktree", "MR", "tests", "last run"), [
        (r.role, "-" if r.wave is None else r.wave, r.worktree, r.mr_state,
         f"{r.tests_passed}/{r.test_runs} passed" if r.test_runs else "",
         f"#{r.last_execution_id} {r.last_execution_status}" if r.last_execution_status else "")
        for r in rows])


@commands.command("graph")
def graph(
    ctx: typer.Context,
    fmt: Annotated[
        GraphFormat, typer.Option("--format", help="Mermaid (default) or Graphviz DOT.")
    ] = GraphFormat.mermaid,
    as_json: JsonFlag = False,
) -> None:
    """Print the dependency graph, roles grouped by wave."""
    text = run_cli(lambda: service.dependency_graph(open_app(ctx), fmt.value))
    if as_json:
        return emit_json({"format": fmt.value, "graph": text})
    typer.echo(text, nl=False)

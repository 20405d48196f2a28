"""CLI commands over roles: sync, list-roles, deps, waves, status, graph.

Each parses, calls one service function and renders: a Rich table for people,
or with ``--json`` exactly one JSON document on stdout. Diagnostics go to stderr.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.table import Table

from dag_harness_mcp.cli.common import (
    JsonFlag,
    console,
    emit_json,
    err_console,
    open_app,
    plain,
    run_cli,
)
from dag_harness_mcp.service import roles as service

__all__ = ["register"]

RoleArg = Annotated[
    str, typer.Argument(help="Role name, e.g. 'common' or 'kubernetes/control-plane'.")
]


class GraphFormat(StrEnum):
    mermaid = "mermaid"
    dot = "dot"


def _hint_if_empty(rows: list[Any]) -> None:
    if not rows:
        err_console.print("no roles known; run `harness sync` (check --repo/--roles-path)")


def _yes(flag: object) -> str:
    return "yes" if flag else "-"


def sync(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Scan the roles path and record roles, dependencies and waves in the StateDB."""
    report = run_cli(lambda: service.sync_roles(open_app(ctx)))
    for error in report.errors:
        err_console.print(f"[yellow]warning:[/] {plain(error['role'])}: {plain(error['error'])}",
                          highlight=False)
    for warning in report.warnings:
        err_console.print(f"[yellow]warning:[/] {plain(warning)}", highlight=False)
    for cycle in report.cycles:
        err_console.print(
            f"[yellow]warning:[/] dependency cycle {plain(' -> '.join(cycle))}; its roles get no "
            "wave",
            highlight=False,
        )
    if as_json:
        emit_json(report.to_dict())
        return
    table = Table(title="harness sync")
    for column in ("total", "added", "updated", "removed", "unchanged", "errors", "cycles", "ms"):
        table.add_column(column, justify="right")
    table.add_row(
        *(str(v) for v in (report.total, report.added, report.updated, report.removed,
                           report.unchanged, len(report.errors), len(report.cycles),
                           report.duration_ms))
    )
    console.print(table)


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
        emit_json(rows)
        return
    _hint_if_empty(rows)
    table = Table(title="roles")
    for column in ("role", "wave", "molecule", "pytest", "problem"):
        table.add_column(column)
    for row in rows:
        wave_text = "-" if row["wave"] is None else str(row["wave"])
        if row["wave_pinned"]:
            wave_text += " (pinned)"
        table.add_row(
            plain(row["name"]), wave_text, _yes(row["has_molecule"]), _yes(row["has_pytest"]),
            plain(row["parse_error"]),
        )
    console.print(table)


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
    rows = run_cli(
        lambda: service.role_dependencies(
            open_app(ctx), role, reverse=reverse, transitive=transitive
        )
    )
    if as_json:
        emit_json(rows)
        return
    title = f"{'dependants' if reverse else 'dependencies'} of {plain(role)}"
    table = Table(title=title)
    if transitive:
        table.add_column("role")
        table.add_column("depth", justify="right")
        for row in rows:
            table.add_row(plain(row["role"]), str(row["depth"]))
    else:
        for column in ("role", "kind", "source", "file"):
            table.add_column(column)
        for row in rows:
            table.add_row(*(plain(row[k]) for k in ("role", "kind", "source", "source_file")))
    if not rows:
        err_console.print(f"{plain(role)} has no {'dependants' if reverse else 'dependencies'}")
    console.print(table)


def waves(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Show the roles of each wave (from the last sync)."""
    groups = run_cli(lambda: service.plan_waves(open_app(ctx)))
    if as_json:
        emit_json([{"wave": g["wave"], "roles": g["roles"]} for g in groups])
        return
    _hint_if_empty(groups)
    table = Table(title="waves")
    table.add_column("wave", justify="right")
    table.add_column("mode")
    table.add_column("roles")
    for group in groups:
        mode = "parallel" if group["parallel"] else "serial"
        table.add_row(str(group["wave"]), mode, plain(", ".join(group["roles"])))
    console.print(table)


def status(
    ctx: typer.Context,
    role: Annotated[str | None, typer.Argument(help="One role; all roles if omitted.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show where each role stands: worktree, issue, MR, tests, last run."""
    if role is not None:
        name = role
        detail = run_cli(lambda: service.get_role(open_app(ctx), name))
        if as_json:
            emit_json(detail)
            return
        table = Table(title=f"role {plain(role)}", show_header=False)
        table.add_column("field")
        table.add_column("value")
        for key, value in detail.items():
            if key == "dependencies":
                value = ", ".join(f"{d['role']} ({d['kind']})" for d in value)
            elif key in ("dependants",):
                value = ", ".join(value)
            elif key == "test_runs":
                value = ", ".join(f"#{t['id']} {t['kind']} {t['status']}" for t in value)
            elif key == "worktree" and value:
                value = f"{value['path']} ({value['branch']})"
            table.add_row(key, plain(value))
        console.print(table)
        return
    rows = run_cli(lambda: service.roles_status(open_app(ctx)))
    if as_json:
        emit_json(rows)
        return
    _hint_if_empty(rows)
    table = Table(title="status")
    for column in ("role", "wave", "worktree", "MR", "tests", "last run"):
        table.add_column(column)
    for row in rows:
        last = row["last_execution_status"]
        table.add_row(
            plain(row["role"]),
            "-" if row["wave"] is None else str(row["wave"]),
            plain(row["worktree"]),
            row["mr_state"] or "",
            f"{row['tests_passed']}/{row['test_runs']} passed" if row["test_runs"] else "",
            f"#{row['last_execution_id']} {last}" if last else "",
        )
    console.print(table)


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
        emit_json({"format": fmt.value, "graph": text})
        return
    typer.echo(text, nl=False)


def register(app: typer.Typer) -> None:
    """Add this group's commands to ``app``."""
    app.command("sync")(sync)
    app.command("list-roles")(list_roles)
    app.command("deps")(deps)
    app.command("waves")(waves)
    app.command("status")(status)
    app.command("graph")(graph)

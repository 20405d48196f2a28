"""CLI commands: ``harness bootstrap``, ``harness install``, ``harness uninstall``.

Non-interactive by flags; ``bootstrap`` asks before installing only on a terminal.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from dag_harness_mcp.cli.common import (
    JsonFlag,
    console,
    emit_json,
    err_console,
    make_table,
    run_cli,
    settings,
)
from dag_harness_mcp.service import integration
from dag_harness_mcp.service import setup as service

__all__ = ["commands"]

commands = typer.Typer()

ProjectOpt = Annotated[Path | None, typer.Option(
    "--project", help="Project directory (default: the repository root).")]
PluginRootOpt = Annotated[Path | None, typer.Option(
    "--plugin-root", help="dag-harness-mcp checkout with hooks/ and bin/ (default: this one).")]


def _render(report: service.BootstrapReport) -> None:
    console.print(make_table("harness bootstrap", ("check", "", "detail", "fix"), (
        (check.name,
         "[green]ok[/]" if check.ok else "[red]FAIL[/]" if check.required else "[yellow]warn[/]",
         check.detail, "" if check.ok else check.fix) for check in report.checks)))
    for action in report.actions:
        console.print(f"- {action}")
    console.print("[green]ready[/]" if report.ok else "[red]not ready: fix the failed checks[/]")


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


@commands.command("bootstrap")
def bootstrap(
    ctx: typer.Context,
    check_only: Annotated[bool, typer.Option(
        "--check-only", help="Only check; change nothing (no database, no files).")] = False,
    yes: Annotated[bool, typer.Option(
        "--yes", "-y", help="Install the project integration without asking.")] = False,
    project: ProjectOpt = None,
    plugin_root: PluginRootOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Check the environment, initialise the database, install the integration, self-test."""
    chosen = settings(ctx)
    target = (project or chosen.repo_root).resolve()

    def decide(checks: list[service.Check]) -> bool:
        if yes:
            return True
        if service.plugin_enabled(checks):
            err_console.print("the dag-harness plugin is enabled: no project install needed")
            return False
        if _interactive():
            return typer.confirm(f"Install hooks and the MCP server into {target}?",
                                 default=True)
        err_console.print(f"not installing into {target}: pass --yes (or run `harness install`)")
        return False

    report = run_cli(lambda: service.bootstrap(
        chosen, project=target, check_only=check_only, install=decide,
        plugin_root=plugin_root))
    if as_json:
        emit_json(report.as_dict())
    else:
        _render(report)
    if not report.ok:
        raise typer.Exit(1)


@commands.command("install")
def install(ctx: typer.Context, project: ProjectOpt = None, plugin_root: PluginRootOpt = None,
            as_json: JsonFlag = False) -> None:
    """Merge the hooks into .claude/settings.json and the MCP server into .mcp.json."""
    target = (project or settings(ctx).repo_root).resolve()
    report = run_cli(lambda: integration.install_integration(
        target, integration.find_plugin_root(plugin_root)))
    _done(report, as_json, f"{target}: {len(report.added_hooks)} hook(s) added, MCP server "
          f"{'added' if report.added_mcp_server else 'not added'}")


@commands.command("uninstall")
def uninstall(ctx: typer.Context, project: ProjectOpt = None, as_json: JsonFlag = False) -> None:
    """Remove only what `harness install` added (recorded in .claude/dag-harness.installed.json)."""
    target = (project or settings(ctx).repo_root).resolve()
    report = run_cli(lambda: integration.uninstall_integration(target))
    _done(report, as_json, f"{target}: {report.removed_hooks} hook(s) removed, MCP server "
          f"{'removed' if report.removed_mcp_server else 'not removed'}")


def _done(report: integration.InstallReport | integration.UninstallReport, as_json: bool,
          summary: str) -> None:
    if as_json:
        emit_json(report.model_dump(mode="json"))
        return
    console.print(summary)
    for kept in report.kept:
        console.print(f"- kept {kept}")

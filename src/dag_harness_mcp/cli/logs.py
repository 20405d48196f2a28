"""``harness logs``: the stored output of a run's molecule and pytest commands."""

from __future__ import annotations

from typing import Annotated

import typer

from dag_harness_mcp.cli.common import (
    JsonFlag,
    console,
    emit_json,
    err_console,
    open_app,
    plain,
    run_cli,
)
from dag_harness_mcp.service.logs import execution_logs

__all__ = ["register"]


def logs(
    ctx: typer.Context,
    execution_id: Annotated[int, typer.Argument(help="Execution id (see `harness executions`).")],
    node: Annotated[
        str | None,
        typer.Option("--node", help="Only this node: run_molecule, run_pytest (or molecule, "
                     "pytest), or another node for its error."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show what a run's molecule and pytest commands printed, and the errors nodes hit."""
    entries = run_cli(lambda: execution_logs(open_app(ctx), execution_id, node=node))
    if as_json:
        return emit_json(entries)
    if not entries:
        which = f" for {node}" if node else ""
        err_console.print(f"execution {execution_id} recorded no output{which} yet",
                          highlight=False)
        return
    for entry in entries:
        if entry.kind == "output":
            seconds = (entry.duration_ms or 0) / 1000
            head = (f"{entry.node} (test run {entry.test_run_id}): {entry.status}, "
                    f"exit {entry.exit_code}, {seconds:.1f} s — {entry.command}")
        else:
            head = f"{entry.node}: {entry.status} with this error"
        console.rule(plain(head), align="left")
        if entry.cut:
            console.print("[dim](the last part of the output; the start was not kept)[/]")
        typer.echo(entry.output.rstrip("\n"))


def register(app: typer.Typer) -> None:
    """Add this group's commands to ``app``."""
    app.command("logs")(logs)

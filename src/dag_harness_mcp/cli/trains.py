"""CLI command: ``harness merge-train`` (refresh and show the open merge-train entries)."""

from __future__ import annotations

from typing import Annotated

import typer

from dag_harness_mcp.cli.common import (
    JsonFlag,
    console,
    emit_json,
    err_console,
    make_table,
    open_app,
    run_async,
)
from dag_harness_mcp.service.trains import TrainRefresh

__all__ = ["commands"]

commands = typer.Typer()


def _render(report: TrainRefresh) -> None:
    rows = [
        (f"!{e.mr_iid}", e.role, e.target_branch, e.status,
         "-" if e.position is None else e.position,
         (e.pipeline_status or "-") + ("" if e.pipeline_id is None else f" (#{e.pipeline_id})"),
         e.completed_at or "-")
        for e in report.entries
    ]
    table = make_table(
        f"merge trains of {report.project} ({report.forge})",
        ("MR", "role", "target", "status", "position", "pipeline", "completed"), rows,
        empty=f"no open merge-train entries on {report.forge} {report.project}",
    )
    if rows:
        console.print(table)
    for entry in report.entries:
        if entry.failure_reason and entry.status == "failed":
            err_console.print(f"!{entry.mr_iid} failed: {entry.failure_reason}", highlight=False)


@commands.command("merge-train")
def merge_train(
    ctx: typer.Context,
    wait: Annotated[float, typer.Option(
        "--wait", min=0, help="Poll until every entry leaves the train, at most this many "
        "seconds (0: ask once).")] = 0.0,
    interval: Annotated[float, typer.Option(
        "--interval", min=0.01, help="Seconds between polls while waiting.")] = 5.0,
    as_json: JsonFlag = False,
) -> None:
    """Ask the forge about every MR still on a merge train and update the StateDB."""
    from dag_harness_mcp.service.trains import refresh_merge_trains

    app = open_app(ctx)
    report = run_async(lambda: refresh_merge_trains(app, wait=wait, interval=interval))
    if as_json:
        emit_json(report)
    else:
        _render(report)
    for entry in report.entries:
        if entry.error is not None:
            err_console.print(f"[bold red]error:[/] !{entry.mr_iid}: {entry.error}",
                              highlight=False)
    if report.errors:
        raise typer.Exit(1)

"""CLI commands over waves: run-waves, box-up-wave, wave-runs, demo.

Each parses, calls the wave executor (service/waves.py) and renders: a live Rich
view per wave and role on stderr while it runs, then a summary table, or with
``--json`` one JSON document on stdout. Exit codes: 0 when no role failed (paused
roles wait for ``harness resume``), 1 when a role failed, was blocked or rejected,
2 for bad input.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from dag_harness_mcp.cli.common import (
    STATUS_STYLE,
    JsonFlag,
    console,
    emit_json,
    err_console,
    open_app,
    plain,
    run_async,
    run_cli,
)
from dag_harness_mcp.cli.wave_view import WaveView, summary_table
from dag_harness_mcp.service.wave_types import WavePolicy, WaveRunReport

__all__ = ["register"]

ConcurrencyOpt = Annotated[
    int | None,
    typer.Option("--concurrency", min=1, help="Roles at a time within a wave (default: CPUs)."),
]
AutoApproveOpt = Annotated[
    bool, typer.Option("--auto-approve", help="Skip the human approval pause of every role.")
]
AllowUntestedOpt = Annotated[
    bool, typer.Option("--allow-untested",
                       help="Let --auto-approve merge roles that have no tests.")
]
_BAD = ("failed", "blocked", "rejected")


def render_report(report: WaveRunReport, as_json: bool) -> None:
    if as_json:
        emit_json(report.to_dict())
    else:
        console.print(summary_table(report))
        counts = ", ".join(f"{n} {s}" for s, n in sorted(report.counts.items()))
        console.print(f"wave run {report.wave_run_id}: {report.status} ({counts}) in "
                      f"{report.duration_s:.1f} s", highlight=False)
        if report.status != "completed":
            console.print(f"continue it with `harness run-waves --resume` "
                          f"(wave run {report.wave_run_id})", highlight=False)
    if any(report.counts.get(s, 0) for s in _BAD):
        raise typer.Exit(1)


def _execute(
    ctx: typer.Context,
    title: str,
    *,
    from_wave: int | None,
    to_wave: int | None,
    concurrency: int | None,
    auto_approve: bool,
    allow_untested: bool = False,
    resume: bool = False,
    wave_run: int | None = None,
) -> WaveRunReport:
    from dag_harness_mcp.service.runs import Runner
    from dag_harness_mcp.service.waves import WaveExecutor

    app = open_app(ctx)
    view = WaveView(title)

    async def go() -> WaveRunReport:
        async with Runner(app) as runner:
            executor = WaveExecutor(runner, policy=WavePolicy(
                auto_approve=auto_approve, allow_untested=allow_untested),
                                    on_event=view)
            with view.live:
                if resume or wave_run is not None:
                    return await executor.resume(wave_run)
                return await executor.start(
                    from_wave=from_wave, to_wave=to_wave, concurrency=concurrency)

    try:
        return run_async(go)
    except KeyboardInterrupt:
        err_console.print("interrupted: continue with `harness run-waves --resume`")
        raise typer.Exit(130) from None


def run_waves(
    ctx: typer.Context,
    from_wave: Annotated[int | None, typer.Option("--from", min=0, help="First wave.")] = None,
    to_wave: Annotated[int | None, typer.Option("--to", min=0, help="Last wave.")] = None,
    concurrency: ConcurrencyOpt = None,
    auto_approve: AutoApproveOpt = False,
    allow_untested: AllowUntestedOpt = False,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the newest unfinished wave run.")
    ] = False,
    wave_run: Annotated[
        int | None, typer.Option("--wave-run", help="Continue this wave run (implies --resume).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Box up every role wave by wave: parallel within a wave, dependants of a failed role
    blocked; resumable after a crash with --resume."""
    report = _execute(ctx, "run-waves", from_wave=from_wave, to_wave=to_wave,
                      concurrency=concurrency, auto_approve=auto_approve,
                      allow_untested=allow_untested, resume=resume, wave_run=wave_run)
    _catch_up(ctx, report)
    render_report(report, as_json)


def _catch_up(ctx: typer.Context, report: WaveRunReport) -> None:
    """Roles merged on the local forge moved the remote's default branch: bring the
    checkout's up (fast-forward when clean) or say to pull. On stderr: --json stays one
    document."""
    if not report.counts.get("completed"):
        return
    from dag_harness_mcp.service.checkout_feedback import WARNING, catch_up_checkout

    note = run_async(lambda: catch_up_checkout(open_app(ctx)))
    if note is not None:
        text = plain(note.removeprefix(WARNING))
        err_console.print(f"[yellow]warning:[/] {text}" if note.startswith(WARNING) else text,
                          highlight=False)


def box_up_wave(
    ctx: typer.Context,
    wave: Annotated[int, typer.Argument(min=0, help="The wave to box up (see `harness waves`).")],
    concurrency: ConcurrencyOpt = None,
    auto_approve: AutoApproveOpt = False,
    allow_untested: AllowUntestedOpt = False,
    as_json: JsonFlag = False,
) -> None:
    """Box up the roles of one wave in parallel."""
    report = _execute(ctx, f"box-up-wave {wave}", from_wave=wave, to_wave=wave,
                      concurrency=concurrency, auto_approve=auto_approve,
                      allow_untested=allow_untested)
    _catch_up(ctx, report)
    render_report(report, as_json)


def demo(
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="Where to check the example out (default: a new temp dir)."),
    ] = None,
    keep: Annotated[
        bool, typer.Option("--keep/--no-keep", help="Keep the checkout and its database.")
    ] = True,
    concurrency: ConcurrencyOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Box up the bundled example repository for real: molecule, pytest, commits, pushes,
    issues, MRs and the merge train, every role wave by wave, auto-approved."""
    from dag_harness_mcp.service.demo import DemoReport, demo_directory, run_demo

    target = demo_directory(directory)
    view = WaveView("harness demo")
    err_console.print(f"example checkout: {target}", highlight=False)

    async def go() -> DemoReport:
        with view.live:
            return await run_demo(target, concurrency=concurrency, on_event=view)

    try:
        result = run_async(go)
    finally:
        if not keep:
            shutil.rmtree(target, ignore_errors=True)
    if as_json:
        emit_json({**result.to_dict(), "kept": keep})
    else:
        console.print(summary_table(result.report, title=f"harness demo: {result.report.status}"))
        console.print(f"{result.roles} roles in {result.report.duration_s:.1f} s; "
                      f"repository: {result.repo_root}", highlight=False)
        where = result.database if keep else f"{result.database} (removed: --no-keep)"
        console.print(f"database: {where}", highlight=False)
        if keep:
            console.print(f"inspect it with `harness --repo {result.repo_root} status`",
                          highlight=False)
    if result.report.status != "completed":
        raise typer.Exit(1)


def wave_runs(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many.")] = 20,
    as_json: JsonFlag = False,
) -> None:
    """List recent wave runs (newest first) with their role counts."""
    from dag_harness_mcp.service.waves import list_wave_runs

    rows = run_cli(lambda: list_wave_runs(open_app(ctx), limit=limit))
    if as_json:
        emit_json(rows)
        return
    if not rows:
        err_console.print("no wave runs yet; start one with `harness run-waves`")
    table = Table(title="wave runs")
    for column in ("id", "status", "mode", "waves", "roles", "started", "finished"):
        table.add_column(column)
    for row in rows:
        style = STATUS_STYLE.get(row["status"], "white")
        first = "first" if row["from_wave"] is None else row["from_wave"]
        last = "last" if row["to_wave"] is None else row["to_wave"]
        span = f"{first}-{last}"
        counts = ", ".join(f"{n} {s}" for s, n in sorted(row["counts"].items()))
        table.add_row(str(row["id"]), f"[{style}]{row['status']}[/]", row["mode"], span,
                      counts, row["started_at"], row["finished_at"] or "-")
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add this group's commands to ``app``."""
    app.command("run-waves")(run_waves)
    app.command("box-up-wave")(box_up_wave)
    app.command("wave-runs")(wave_runs)
    app.command("demo")(demo)

"""run-waves, box-up-wave, wave-runs, demo: a live view on stderr while they run (a bar per
wave, a row per running role with its node), then a table of the roles or ``--json``; exit 1
when a role failed, was blocked or rejected (paused roles wait: 0), 2 for bad input."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Coroutine
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from dag_harness_mcp.cli.common import (
    JsonFlag,
    console,
    emit_json,
    err_console,
    make_table,
    open_app,
    plain,
    run_async,
    run_cli,
    styled,
)
from dag_harness_mcp.service.waves import (
    OnWaveEvent,
    WaveEvent,
    WavePolicy,
    WaveRunReport,
    count_text,
)

__all__ = [
    "ConcurrencyOpt", "FromOpt", "ToOpt", "WaveView", "commands", "live", "summary_table",
]

commands = typer.Typer()

T = TypeVar("T")
FromOpt = Annotated[int | None, typer.Option("--from", min=0, help="First wave.")]
ToOpt = Annotated[int | None, typer.Option("--to", min=0, help="Last wave.")]
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


class WaveView:
    """``with view.live:`` around the run, with ``view`` as its ``on_event``."""

    def __init__(self, title: str) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[note]}"), TimeElapsedColumn(), console=err_console,
        )
        self.title = title
        self.tasks: dict[int, Any] = {}
        self.running: dict[str, tuple[int, str, float]] = {}
        self.live = Live(self.render(), console=err_console, refresh_per_second=6,
                         transient=False)

    def render(self) -> Group:
        if not self.running:  # no empty table left above the summary when the run ends
            return Group(self.progress)
        now = time.monotonic()
        return Group(self.progress, make_table(
            self.title, ("wave", "role", "node", "seconds"),
            ((wave, role, node, f"{now - began:.1f}")
             for role, (wave, node, began) in sorted(self.running.items()))))

    async def __call__(self, event: WaveEvent) -> None:
        if event.kind == "wave_started":
            self.tasks[event.wave] = self.progress.add_task(
                f"wave {event.wave}", total=event.total or 0, note=event.message)
        elif event.kind == "wave_finished":
            task = self.tasks.get(event.wave)
            if task is not None:
                self.progress.update(task, completed=event.total or 0, note=event.message)
        elif event.kind == "role_started" and event.role:
            self.running[event.role] = (event.wave, "starting", time.monotonic())
        elif event.kind == "node" and event.role in self.running:
            wave, _node, began = self.running[event.role]
            self.running[event.role] = (wave, f"{event.message} {event.status}", began)
        elif event.kind == "role_finished" and event.role:
            self.running.pop(event.role, None)
            task = self.tasks.get(event.wave)
            if task is not None:
                self.progress.advance(task)
            why = f" ({event.message})" if event.message else ""
            self.live.console.print(
                f"wave {event.wave}: {event.role} {styled(event.status or '')}{why}",
                highlight=False)
        self.live.update(self.render())


def summary_table(report: WaveRunReport, title: str | None = None) -> Table:
    return make_table(
        title or f"wave run {report.wave_run_id}: {report.status}",
        ("wave", "role", "status", "execution", "seconds", "detail"),
        ((o.wave, o.role, styled(o.status), o.execution_id or "-",
          "-" if o.duration_s is None else f"{o.duration_s:.1f}", o.reason or o.mr_url or "")
         for o in report.roles))


def live(
    title: str, go: Callable[[OnWaveEvent], Coroutine[Any, Any, T]], resume_hint: str = ""
) -> T:
    """Run ``go(view)`` under a live wave view on stderr; Ctrl-C says how to continue."""
    view = WaveView(title)

    async def watched() -> T:
        with view.live:
            return await go(view)

    try:
        return run_async(watched)
    except KeyboardInterrupt:
        if not resume_hint:
            raise
        err_console.print(f"interrupted: continue with `{resume_hint}`")
        raise typer.Exit(130) from None


def _waves(
    ctx: typer.Context, title: str, policy: WavePolicy, *, from_wave: int | None = None,
    to_wave: int | None = None, concurrency: int | None = None, resume: bool = False,
    wave_run: int | None = None, as_json: bool = False,
) -> None:
    """Run (or resume) the waves, bring the checkout up to date, print the report."""
    from dag_harness_mcp.service.runs import Runner
    from dag_harness_mcp.service.waves import WaveExecutor

    app = open_app(ctx)

    async def go(view: OnWaveEvent) -> WaveRunReport:
        async with Runner(app) as runner:
            executor = WaveExecutor(runner, policy=policy, on_event=view)
            if resume or wave_run is not None:
                return await executor.resume(wave_run)
            return await executor.start(
                from_wave=from_wave, to_wave=to_wave, concurrency=concurrency)

    report = live(title, go, "harness run-waves --resume")
    if report.counts.get("completed"):
        _catch_up(ctx)
    if as_json:
        emit_json(report)
    else:
        console.print(summary_table(report))
        console.print(f"wave run {report.wave_run_id}: {report.status} "
                      f"({count_text(report.counts)}) in {report.duration_s:.1f} s",
                      highlight=False)
        if report.status != "completed":
            console.print(f"continue it with `harness run-waves --resume` "
                          f"(wave run {report.wave_run_id})", highlight=False)
    if any(report.counts.get(s) for s in ("failed", "blocked", "rejected")):
        raise typer.Exit(1)


def _catch_up(ctx: typer.Context) -> None:
    """Roles merged on the local forge moved the remote's default branch: fast-forward the
    checkout's or say to pull (on stderr, so that --json stays one document)."""
    from dag_harness_mcp.service.checkout_feedback import WARNING, catch_up_checkout

    note = run_async(lambda: catch_up_checkout(open_app(ctx)))
    if note is not None:
        text = plain(note.removeprefix(WARNING))
        err_console.print(f"[yellow]warning:[/] {text}" if note.startswith(WARNING) else text,
                          highlight=False)


@commands.command("run-waves")
def run_waves(
    ctx: typer.Context,
    from_wave: FromOpt = None,
    to_wave: ToOpt = None,
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
    _waves(ctx, "run-waves", WavePolicy(auto_approve=auto_approve, allow_untested=allow_untested),
           from_wave=from_wave, to_wave=to_wave, concurrency=concurrency, resume=resume,
           wave_run=wave_run, as_json=as_json)


@commands.command("box-up-wave")
def box_up_wave(
    ctx: typer.Context,
    wave: Annotated[int, typer.Argument(min=0, help="The wave to box up (see `harness waves`).")],
    concurrency: ConcurrencyOpt = None,
    auto_approve: AutoApproveOpt = False,
    allow_untested: AllowUntestedOpt = False,
    as_json: JsonFlag = False,
) -> None:
    """Box up the roles of one wave in parallel."""
    _waves(ctx, f"box-up-wave {wave}",
           WavePolicy(auto_approve=auto_approve, allow_untested=allow_untested),
           from_wave=wave, to_wave=wave, concurrency=concurrency, as_json=as_json)


@commands.command("wave-runs")
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
    console.print(make_table(
        "wave runs", ("id", "status", "mode", "waves", "roles", "started", "finished"),
        ((r.id, styled(r.status), r.mode,
          f"{'first' if r.from_wave is None else r.from_wave}-"
          f"{'last' if r.to_wave is None else r.to_wave}",
          count_text(r.counts), r.started_at, r.finished_at or "-") for r in rows),
        empty="no wave runs yet; start one with `harness run-waves`"))


@commands.command("demo")
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
    from dag_harness_mcp.service.example import demo_directory, run_demo

    target = demo_directory(directory)
    err_console.print(f"example checkout: {target}", highlight=False)
    try:
        result = live("harness demo", lambda view: run_demo(
            target, concurrency=concurrency, on_event=view))
    finally:
        if not keep:
            shutil.rmtree(target, ignore_errors=True)
    report = result.report
    if as_json:
        emit_json({**asdict(result), "kept": keep})
    else:
        console.print(summary_table(report, title=f"harness demo: {report.status}"))
        console.print(f"{result.roles} roles in {report.duration_s:.1f} s; "
                      f"repository: {result.repo_root}", highlight=False)
        where = result.database if keep else f"{result.database} (removed: --no-keep)"
        console.print(f"database: {where}", highlight=False)
        if keep:
            console.print(f"inspect it with `harness --repo {result.repo_root} status`",
                          highlight=False)
    if report.status != "completed":
        raise typer.Exit(1)

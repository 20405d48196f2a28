"""``harness worker`` and ``harness dispatch``: both need HARNESS_POSTGRES_URL (the queue,
state and checkpoints are shared there). dispatch exits 0 when every role completed, 1
when one failed or was blocked, 2 on bad input or configuration."""

from __future__ import annotations

import asyncio
import datetime as _dt
import logging
from typing import Annotated

import typer

from dag_harness_mcp.cli.common import cli_errors, console, emit_json, make_table, open_app, styled
from dag_harness_mcp.distributed.dispatch import DispatchOptions, DispatchReport

__all__ = ["commands"]

commands = typer.Typer()


def _logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s",
    )


@commands.command("worker")
def worker(
    ctx: typer.Context,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, max=64, help="Jobs run at once.")
    ] = 1,
    name: Annotated[str | None, typer.Option("--name", help="Worker name in logs.")] = None,
    heartbeat: Annotated[
        float, typer.Option("--heartbeat", min=0.1, help="Seconds between heartbeats.")
    ] = 10.0,
    poll: Annotated[
        float, typer.Option("--poll", min=0.1, help="Seconds between queue polls.")
    ] = 5.0,
    burst: Annotated[
        bool, typer.Option("--burst", help="Stop once the queue is empty.")
    ] = False,
    log_level: Annotated[str, typer.Option("--log-level", help="Logging level.")] = "info",
) -> None:
    """Take box-up jobs from the PostgreSQL queue until stopped (Ctrl-C / SIGTERM)."""
    from dag_harness_mcp.distributed.queue import WorkerOptions, run_worker

    _logging(log_level)
    with cli_errors():
        app = open_app(ctx)
        options = WorkerOptions(
            concurrency=concurrency, name=name, heartbeat=heartbeat, poll_interval=poll,
            wait=not burst,
        )
        asyncio.run(run_worker(app, options))


def _clock(timestamp: float) -> str:
    return _dt.datetime.fromtimestamp(timestamp).strftime("%H:%M:%S")


def _render(report: DispatchReport) -> None:
    console.print(make_table(
        f"wave run {report.wave_run_id}: {report.status}",
        ("wave", "role", "status", "wave started", "wave finished"),
        ((wave.wave, role, styled(status), _clock(wave.started_at), _clock(wave.finished_at))
         for wave in report.waves for role, status in wave.roles.items())))
    if report.requeued_jobs:
        console.print(f"jobs queued again after their worker died: {report.requeued_jobs}")
    console.print(f"took {report.duration_s:.1f} s")


@commands.command("dispatch")
def dispatch(
    ctx: typer.Context,
    from_wave: Annotated[int | None, typer.Option("--from", min=0, help="First wave.")] = None,
    to_wave: Annotated[int | None, typer.Option("--to", min=0, help="Last wave.")] = None,
    poll: Annotated[
        float, typer.Option("--poll", min=0.05, help="Seconds between job status checks.")
    ] = 1.0,
    stalled_after: Annotated[
        float,
        typer.Option("--stalled-after", min=0.5,
                     help="Seconds without a heartbeat after which a worker counts as dead."),
    ] = 30.0,
    no_sync: Annotated[
        bool, typer.Option("--no-sync", help="Do not sync roles from the repository first.")
    ] = False,
    resume: Annotated[
        bool,
        typer.Option("--resume", help="Go on with the newest unfinished distributed wave run "
                     "(after its dispatcher died); its settled roles are kept."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    log_level: Annotated[str, typer.Option("--log-level", help="Logging level.")] = "warning",
) -> None:
    """Box up every role through the queue, wave by wave (workers do the work)."""
    from dag_harness_mcp.distributed.dispatch import dispatch_waves
    from dag_harness_mcp.distributed.queue import prepared_queue_app

    _logging(log_level)
    if resume and (from_wave is not None or to_wave is not None):
        raise typer.BadParameter("--resume keeps the wave run's own range; drop --from/--to")
    with cli_errors():
        app = open_app(ctx)
        queue = prepared_queue_app(app.settings)
        options = DispatchOptions(
            from_wave=from_wave, to_wave=to_wave, poll_interval=poll,
            stalled_after=stalled_after, sync=not no_sync, resume=resume,
        )

        async def go() -> DispatchReport:
            async with queue.open_async():
                return await dispatch_waves(app, queue, options)

        report = asyncio.run(go())
    if as_json:
        emit_json(report)
    else:
        _render(report)
    if report.status != "completed":
        raise typer.Exit(1)

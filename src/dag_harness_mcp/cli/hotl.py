"""``harness hotl start|status|stop``: autonomous wave runs (service/hotl.py) in this process
or detached; ``stop`` from another shell asks a run to stop starting roles."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from dag_harness_mcp.cli.common import (
    JsonFlag,
    console,
    emit_json,
    make_table,
    open_app,
    run_cli,
    styled,
)
from dag_harness_mcp.cli.waves import ConcurrencyOpt, FromOpt, ToOpt, live
from dag_harness_mcp.service.waves import OnWaveEvent, count_text

__all__ = ["group"]

group = typer.Typer(name="hotl", help="Autonomous wave runs under a policy, with notifications.",
                    no_args_is_help=True)


@group.command("start")
def start(
    ctx: typer.Context,
    from_wave: FromOpt = None,
    to_wave: ToOpt = None,
    concurrency: ConcurrencyOpt = None,
    max_roles: Annotated[
        int | None, typer.Option("--max-roles", min=1, help="Start at most this many roles.")
    ] = None,
    max_cost: Annotated[
        float | None, typer.Option("--max-cost", min=0, help="Stop once this many USD are spent.")
    ] = None,
    max_failures: Annotated[
        int | None, typer.Option("--max-failures", min=1, help="Stop after this many failures.")
    ] = None,
    webhook: Annotated[
        str | None, typer.Option("--webhook", help="POST notifications here (Discord-style).")
    ] = None,
    log_file: Annotated[
        str | None, typer.Option("--log-file", help="Append notifications to this file.")
    ] = None,
    allow_untested: Annotated[
        bool | None, typer.Option("--allow-untested/--refuse-untested",
                                  help="Approve roles that have no tests (default: refuse).")
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the newest unfinished HOTL wave run.")
    ] = False,
    detach: Annotated[
        bool, typer.Option("--detach", help="Run in the background; output to a log file.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Run the waves autonomously: approve roles whose tests pass with no regressions, pause
    and notify otherwise, stop at the limits (harness.yml `hotl:` or these options)."""
    from dag_harness_mcp.service.hotl import HotlReport, effective_limits, run_hotl
    from dag_harness_mcp.service.runs import Runner

    app = open_app(ctx)
    limits = run_cli(lambda: effective_limits(
        app, max_roles=max_roles, max_cost_usd=max_cost, max_failures=max_failures,
        webhook_url=webhook, log_file=log_file, allow_untested=allow_untested))
    if detach:
        _detach(app.settings.state_dir, as_json)
        return

    async def go(view: OnWaveEvent) -> HotlReport:
        async with Runner(app) as runner:
            return await run_hotl(runner, limits, from_wave=from_wave, to_wave=to_wave,
                                  concurrency=concurrency, resume=resume, on_event=view)

    report = live("hotl", go, "harness hotl start --resume")
    if as_json:
        emit_json(report)
    else:
        console.print(
            f"HOTL run {report.hotl_run_id}: {report.status}"
            + (f" ({report.stop_reason})" if report.stop_reason else "")
            + f"; roles: {count_text(report.wave_run.counts)};"
            f" notifications: {report.notifications}", highlight=False)
    if report.status not in ("completed", "stopped", "limit_reached"):
        raise typer.Exit(1)


def _detach(state_dir: Path, as_json: bool) -> None:
    """Start this same command again without ``--detach``, in its own session."""
    state_dir.mkdir(parents=True, exist_ok=True)
    out = state_dir / f"hotl-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.log"
    argv = [a for a in sys.argv[1:] if a != "--detach"]
    code = "from dag_harness_mcp.cli.app import main; main()"
    with out.open("ab") as sink:
        child = subprocess.Popen(  # our own interpreter and arguments
            [sys.executable, "-c", code, *argv], stdin=subprocess.DEVNULL, stdout=sink,
            stderr=sink, start_new_session=True, env={**os.environ, "COLUMNS": "120"},
        )
    if as_json:
        emit_json({"pid": child.pid, "log": str(out)})
    else:
        console.print(f"HOTL run started in the background (pid {child.pid}); output: {out}; "
                      "follow it with `harness hotl status`", highlight=False)


@group.command("status")
def status(
    ctx: typer.Context,
    run_id: Annotated[int | None, typer.Argument(help="HOTL run id (default: newest).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """The newest (or given) HOTL run: status, counters, roles and notifications."""
    from dag_harness_mcp.service.hotl import hotl_status

    info = run_cli(lambda: hotl_status(open_app(ctx), run_id))
    if as_json:
        emit_json(info)
        return
    console.print(
        f"HOTL run {info.id}: {info.status} ({'alive' if info.alive else 'not running'}); "
        f"roles done {info.roles_done}, failures {info.failures}, cost ${info.cost_usd:.4f}"
        + (f"; {info.stop_reason}" if info.stop_reason else ""), highlight=False)
    if info.wave_run is not None:
        console.print(make_table(
            f"wave run {info.wave_run.id}", ("wave", "role", "status", "execution", "reason"),
            ((r["wave"], r["role_name"], styled(r["status"]), r["execution_id"] or "-",
              r["reason"] or "") for r in info.wave_run.roles)))
    for n in info.notifications:
        state = "sent" if n["delivered"] else f"failed: {n['error']}"
        console.print(f"  {n['created_at']} {n['channel']} {n['event']}: {state}",
                      highlight=False)


@group.command("stop")
def stop(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Ask the running HOTL run to stop starting roles (running roles finish)."""
    from dag_harness_mcp.service.hotl import stop_hotl

    info = run_cli(lambda: stop_hotl(open_app(ctx)))
    if as_json:
        emit_json(info)
    else:
        console.print(f"asked HOTL run(s) {', '.join(map(str, info.stopping))} to stop",
                      highlight=False)

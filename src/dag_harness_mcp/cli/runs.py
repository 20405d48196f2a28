"""box-up-role, resume, executions, history, cancel: a live view of the nodes on stderr
(``--json`` stdout stays one document); exit 0 completed or paused, 1 failed, rejected or
cancelled, 2 bad input."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.live import Live
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
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.run_types import ProgressEvent, RunResult

__all__ = ["commands"]

commands = typer.Typer()

T = TypeVar("T")

ExecArg = Annotated[int, typer.Argument(help="Execution id (see `harness executions`).")]
_ICONS = {"started": "[cyan]running[/]", "completed": "[green]done[/]",
          "failed": "[red]failed[/]", "interrupted": "[yellow]paused[/]"}


class NodeView:
    """The live table of nodes: one row per node, updated from progress events."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.rows: dict[str, tuple[str, float, float | None, str]] = {}
        self.live = Live(self.render(), console=err_console, refresh_per_second=8,
                         transient=False)
        self.started = False
        self.execution_id: int | None = None  # known once the run exists

    def stop(self) -> None:
        """End the live view (drawn only once a node started: a refused run shows no table)."""
        if self.started:
            self.live.stop()
            self.started = False
            if not err_console.is_terminal:  # Live ends a piped table without a newline
                err_console.line()

    def render(self) -> Table:
        now = time.monotonic()
        return make_table(self.title, ("node", "status", "seconds", "message"), (
            (node, _ICONS.get(status, status), f"{(now if ended is None else ended) - started:.1f}",
             plain(message)) for node, (status, started, ended, message) in self.rows.items()))

    def created(self, execution_id: int) -> None:
        self.execution_id = execution_id

    async def __call__(self, event: ProgressEvent) -> None:
        self.execution_id = event.execution_id
        previous = self.rows.get(event.node)
        started = previous[1] if previous and event.status != "started" else time.monotonic()
        ended = None if event.status == "started" else time.monotonic()
        self.rows[event.node] = (event.status, started, ended, event.message)
        if not self.started:
            self.live.start()
            self.started = True
        self.live.update(self.render())


def _run(ctx: typer.Context, title: str, op: Callable[[Any, NodeView], Awaitable[T]],
         execution_id: int | None = None) -> T:
    from dag_harness_mcp.service.runs import Runner

    app: HarnessApp = open_app(ctx)
    view = NodeView(title)
    view.execution_id = execution_id

    async def go() -> T:
        async with Runner(app) as runner:
            try:
                return await op(runner, view)
            finally:
                view.stop()

    try:
        return run_async(go)
    except KeyboardInterrupt:
        _interrupted(app, view.execution_id)
        raise typer.Exit(130) from None


def _interrupted(app: HarnessApp, execution_id: int | None) -> None:
    """Ctrl-C: the run stays resumable; say so, and how."""
    from dag_harness_mcp.service.runs import Runner

    if execution_id is None:
        err_console.print("interrupted before a run started; nothing to resume")
        return
    run = Runner(app).mark_interrupted(execution_id, reason="SIGINT (Ctrl-C) in the CLI")
    where = ", ".join(run.next_nodes) or "its next node"
    err_console.print(
        f"[yellow]interrupted[/]: execution {execution_id} ({plain(run.role)}) is "
        f"{run.status} before {plain(where)}; continue with "
        f"`harness resume {execution_id}`", highlight=False)


def _render_result(result: RunResult, as_json: bool) -> None:
    if as_json:
        emit_json(result)
    else:
        console.print(f"execution {result.execution_id} ({result.role}): {styled(result.status)}",
                      highlight=False)
        for note in result.notes:
            warning = note.startswith("warning: ")
            console.print(f"  {'[yellow]warning:[/] ' if warning else ''}"
                          f"{plain(note.removeprefix('warning: '))}", highlight=False)
        if result.untested:
            console.print("  [yellow]untested[/]: no molecule scenario and no pytest suite; "
                          "only the syntax check ran", highlight=False)
        if result.status == "paused":
            if result.interrupt is not None and result.interrupt.get("kind") == "repair":
                _render_repair(result.execution_id, result.interrupt)
            elif result.interrupt is not None and result.interrupt.get("kind") == "scaffold_tests":
                console.print(
                    f"  the role has no tests: add {result.interrupt.get('missing')} in "
                    f"{result.interrupt.get('role_dir')}, then `harness resume "
                    f"{result.execution_id}` (without any, it goes on untested)",
                    highlight=False, markup=False)
            elif result.interrupt is not None:
                question = result.interrupt.get("question", "waiting for a decision")
                console.print(f"  {question}", highlight=False)
                console.print(
                    f"  approve: harness resume {result.execution_id} --approve   "
                    f"reject: harness resume {result.execution_id} --reject", highlight=False)
            else:
                console.print(
                    f"  paused before {', '.join(result.next_nodes)}; continue with "
                    f"`harness resume {result.execution_id}`", highlight=False)
        for label, url in (("issue", result.issue_url), ("merge request", result.mr_url)):
            if url:
                console.print(f"  {label}: {url}", highlight=False)
        for error in result.errors[-5:]:
            err_console.print(f"[red]error:[/] {error}", highlight=False)
    if result.status in ("failed", "rejected", "cancelled"):
        raise typer.Exit(1)


def _render_repair(execution_id: int, request: dict[str, Any]) -> None:
    """A run paused for repair: what failed, where to fix it, how to re-test."""
    console.print(
        f"  tests failed ({', '.join(request.get('failed_kinds') or [])}); repair round "
        f"{request.get('round')} of {request.get('rounds')}", highlight=False)
    for failure in (request.get("digest") or {}).get("failures") or []:
        where = f" at {failure['where']}" if failure.get("where") else ""
        console.print(f"  - {failure.get('kind')} {failure.get('test')}{where}: "
                      f"{failure.get('message')}", highlight=False, markup=False)
    console.print(
        f"  fix the role in {request.get('role_dir')}, then re-test with "
        f"`harness resume {execution_id}`", highlight=False)


@commands.command("box-up-role")
def box_up_role(
    ctx: typer.Context,
    role: Annotated[str, typer.Argument(help="Role name, e.g. 'common'.")],
    breakpoints: Annotated[
        str | None,
        typer.Option("--breakpoints", help="Pause before these nodes, comma-separated."),
    ] = None,
    auto_approve: Annotated[
        bool, typer.Option("--auto-approve", help="Skip the human approval pause.")
    ] = False,
    allow_untested: Annotated[
        bool, typer.Option("--allow-untested",
                           help="Let --auto-approve merge a role that has no tests.")
    ] = False,
    repair_rounds: Annotated[
        int | None,
        typer.Option("--repair-rounds", min=0, help=(
            "Pauses for a repair when tests fail (default: the repair_rounds setting); "
            "0 fails at once.")),
    ] = None,
    ignore_deps: Annotated[
        bool, typer.Option("--ignore-deps",
                           help="Box up even though dependencies are not boxed up yet.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Box up one role: validate, test, commit, push, open issue and MR, await approval."""
    requested = None if breakpoints is None else [breakpoints]
    from dag_harness_mcp.service.capabilities import start_run

    result = _run(ctx, f"box-up-role {role}", lambda runner, view: start_run(
        runner, role, breakpoints=requested, auto_approve=auto_approve,
        allow_untested=allow_untested, ignore_deps=ignore_deps, on_progress=view,
        repair_rounds=repair_rounds, on_created=view.created))
    _render_result(result, as_json)


@commands.command("resume")
def resume(
    ctx: typer.Context,
    execution_id: ExecArg,
    approve: Annotated[bool, typer.Option("--approve", help="Approve the pending MR.")] = False,
    reject: Annotated[bool, typer.Option("--reject", help="Reject the pending MR.")] = False,
    comment: Annotated[
        str | None, typer.Option("--comment", help="A comment for the decision.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Continue a paused, failed or interrupted execution (with a decision if it waits for
    approval; without one after a repair, to re-test)."""
    if approve and reject:
        err_console.print("[bold red]error:[/] pass either --approve or --reject, not both")
        raise typer.Exit(2)
    approved = True if approve else (False if reject else None)
    from dag_harness_mcp.service.capabilities import resume_run

    result = _run(ctx, f"resume {execution_id}", lambda runner, view: resume_run(
        runner, execution_id, approved=approved, comment=comment, on_progress=view),
        execution_id=execution_id)
    _render_result(result, as_json)


@commands.command("executions")
def executions(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option("--status", help="Only this status.")] = None,
    role: Annotated[str | None, typer.Option("--role", help="Only this role.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many.")] = 20,
    offset: Annotated[int, typer.Option("--offset", help="Skip this many.")] = 0,
    as_json: JsonFlag = False,
) -> None:
    """List executions, newest first."""
    from dag_harness_mcp.service.runs import Runner

    rows = run_cli(lambda: Runner(open_app(ctx)).list(
        status=status, role=role, limit=limit, offset=offset))
    if as_json:
        emit_json(rows)
        return
    console.print(make_table(
        "executions", ("id", "role", "status", "node", "next", "started", "updated"),
        ((r["id"], r["role_name"], styled(r["status"]), r["current_node"] or "-",
          ", ".join(r["next_nodes"]) or "-", r["started_at"], r["updated_at"]) for r in rows),
        empty="no executions; start one with `harness box-up-role ROLE`"))


@commands.command("history")
def history(ctx: typer.Context, execution_id: ExecArg, as_json: JsonFlag = False) -> None:
    """The checkpoints of an execution: step, node, what came next, when."""
    from dag_harness_mcp.service.runs import HistoryEntry, Runner

    async def go() -> list[HistoryEntry]:
        async with Runner(open_app(ctx)) as runner:
            return await runner.history(execution_id)

    items = run_cli(lambda: asyncio.run(go()))
    if as_json:
        emit_json([item.model_dump(mode="json") for item in items])
        return
    console.print(make_table(
        f"history of execution {execution_id}",
        ("step", "ran", "result", "next", "time", "checkpoint"),
        ((item.step, ", ".join(item.nodes) or "-",
          f"[red]failed[/]: {plain(item.outcome)}" if item.failed else
          ("ok" if item.nodes else "-"),
          ", ".join(item.next) or "-", item.created_at, item.checkpoint_id) for item in items)))


@commands.command("cancel")
def cancel(ctx: typer.Context, execution_id: ExecArg, as_json: JsonFlag = False) -> None:
    """Cancel an execution (a run in another process stops at its next node)."""
    from dag_harness_mcp.service.capabilities import cancel_run
    from dag_harness_mcp.service.runs import Runner

    # a run that has ended cannot be cancelled: WorkflowError, exit code 2
    result = run_async(lambda: cancel_run(Runner(open_app(ctx)), execution_id))
    if as_json:
        emit_json(result)
    else:
        console.print(f"execution {execution_id} ({result.role}): cancelled", highlight=False)

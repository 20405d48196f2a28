"""What happened, read through the service: ``harness sessions list|show``, ``harness costs``
and ``harness audit`` (what the hooks recorded about Claude Code sessions), ``harness logs``
(what a run's commands printed)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from dag_harness_mcp.cli.common import (
    JsonFlag,
    console,
    emit_json,
    err_console,
    open_app,
    plain,
    print_table,
    run_cli,
)
from dag_harness_mcp.service import observability as service
from dag_harness_mcp.service.quality import execution_logs

__all__ = ["commands", "sessions"]

commands = typer.Typer()
sessions = typer.Typer(name="sessions", help="Claude Code sessions recorded by the hooks.",
                       no_args_is_help=True)


class Grouping(StrEnum):
    day = "day"
    session = "session"
    model = "model"


def _usd(value: float | int | None) -> str:
    return f"${float(value or 0):.4f}"


@sessions.command("list")
def list_sessions(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", help="At most this many.")] = 50,
    offset: Annotated[int, typer.Option("--offset", help="Skip this many.")] = 0,
    as_json: JsonFlag = False,
) -> None:
    """List sessions, newest first, with tool calls, denials, files and cost."""
    rows = run_cli(lambda: service.agent_sessions(open_app(ctx), limit, offset))
    if as_json:
        return emit_json(rows)
    if not rows:
        err_console.print("no sessions recorded; install the hooks (`harness install`)")
        return
    print_table("sessions", ("session", "parent", "model", "status", "started", "tools", "denied",
                             "files", "cost"), [
        (r.session_id, r.parent_session_id, r.model, r.status, r.started_at, r.tool_calls,
         r.denied_calls, r.files_changed, _usd(r.cost_usd)) for r in rows])


@sessions.command("show")
def show_session(
    ctx: typer.Context,
    session_id: Annotated[str, typer.Argument(help="The session id.")],
    as_json: JsonFlag = False,
) -> None:
    """Show one session: tool calls, file changes, subagents and token totals."""
    detail = run_cli(lambda: service.session_detail(open_app(ctx), session_id))
    if as_json:
        return emit_json(detail)
    s, c = detail.session, detail.costs
    console.print(f"[bold]{s.session_id}[/] {s.status} model={s.model or '-'} "
                  f"cwd={s.cwd or '-'} cost={_usd(c.cost_usd)} "
                  f"tokens in/out={c.input_tokens}/{c.output_tokens}", highlight=False)
    print_table("tool calls", ("tool", "status", "ms", "reason"), [
        (t.tool_name, t.status, "" if t.duration_ms is None else f"{t.duration_ms:.0f}",
         t.decision_reason or t.error) for t in detail.tool_calls])
    for f in detail.file_changes:
        console.print(f"  {f.change_type:<8} {f.path}", highlight=False)
    for sub in detail.subagents:
        console.print(f"  subagent {sub.session_id} ({sub.agent_type or '-'}) "
                      f"{_usd(sub.cost_usd)}", highlight=False)


@commands.command("logs")
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
    for entry in entries:
        if entry.kind == "output":
            head = (f"{entry.node} (test run {entry.test_run_id}): {entry.status}, exit "
                    f"{entry.exit_code}, {(entry.duration_ms or 0) / 1000:.1f} s — {entry.command}")
        else:
            head = f"{entry.node}: {entry.status} with this error"
        console.rule(plain(head), align="left")
        if entry.cut:
            console.print("[dim](the last part of the output; the start was not kept)[/]")
        typer.echo(entry.output.rstrip("\n"))


@commands.command("costs")
def costs(
    ctx: typer.Context,
    by: Annotated[Grouping, typer.Option("--by", help="Group by day, session or model.")] =
    Grouping.day,
    days: Annotated[float | None, typer.Option("--days", help="Only the last N days.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Token usage and cost from the session transcripts."""
    report = run_cli(lambda: service.cost_report(open_app(ctx), by=by.value, days=days))
    if as_json:
        return emit_json(report)
    keys = {"day": ["day", "model"], "session": ["session_id"], "model": ["model"]}[by.value]
    rows = [r.model_dump() for r in report.rows]
    print_table(f"costs by {by.value} (total {_usd(report.total_cost_usd)})",
                [*keys, "messages", "input", "output", "cache write", "cache read", "cost"], [
        [*(r[k] for k in keys), r["messages"], r["input_tokens"], r["output_tokens"],
         r["cache_creation_tokens"], r["cache_read_tokens"], _usd(r["cost_usd"])] for r in rows])


@commands.command("audit")
def audit(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", help="At most this many.")] = 50,
    before: Annotated[int | None, typer.Option("--before", help="Rows older than this id.")] =
    None,
    action: Annotated[str | None, typer.Option("--action", help="Only this action.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """The audit log of mutations, newest first."""
    rows = run_cli(lambda: service.audit_log(open_app(ctx), limit, before, action))
    if as_json:
        return emit_json(rows)
    print_table("audit log", ("id", "time", "actor", "source", "action", "entity"), [
        (r.id, r.ts, r.actor, r.source, r.action,
         f"{r.entity_type or ''} {r.entity_id or ''}".strip()) for r in rows])

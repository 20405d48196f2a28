"""Run tools: box up a role, follow, resume, cancel and inspect its executions."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from dag_harness_mcp.mcp.registry import Cursor, Page, PageSize, fetch_page
from dag_harness_mcp.mcp.state import Ctx, ProgressReporter, state_of
from dag_harness_mcp.mcp.views import checkpoint_item, execution_item, execution_view
from dag_harness_mcp.service.capabilities import cancel_run, resume_run, start_run
from dag_harness_mcp.service.run_types import RunResult

ExecutionStatus = Literal[
    "pending", "running", "paused", "completed", "failed", "rejected", "cancelled"
]
ExecutionId = Annotated[int, Field(ge=1, description="from list_executions")]


class RunOutcome(BaseModel):
    """Where a run stands when the call returned, and what to do next (absent: none)."""

    execution_id: int
    role: str
    status: str
    next_step: str
    next_nodes: list[str] | None = None
    interrupt: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None
    errors: list[str] | None = None
    issue_url: str | None = None
    mr_url: str | None = None
    untested: bool | None = None  # true: no molecule scenario, no pytest suite (syntax only)
    notes: list[str] | None = None  # how the run made its branch, what it skipped


def _next_step(result: RunResult) -> str:
    eid, asked = result.execution_id, result.interrupt
    if result.status == "paused" and asked is not None and (
        asked.get("kind") in ("repair", "scaffold_tests")
    ):
        return str(asked.get("next_step") or f"fix the role in interrupt.role_dir, "
                   f"then resume_execution(execution_id={eid}) with no decision")
    if result.status == "paused" and asked is not None:
        return (f"show the human the interrupt and ask; then resume_execution(execution_id={eid},"
                " approved=true|false, comment=...)")
    if result.status == "paused":
        return (f"paused at a breakpoint before {', '.join(result.next_nodes)}; "
                f"resume_execution(execution_id={eid}) continues")
    if result.status == "failed":
        return (f"read errors (get_execution/test_history), fix the cause, then "
                f"resume_execution(execution_id={eid}) retries the failed node")
    if result.status == "running":
        return f"still running elsewhere; poll get_execution(execution_id={eid})"
    if result.status == "completed":
        return "done; report the MR and the summary"
    return f"the run is {result.status}; start a new one with box_up_role if needed"


# Parts of a run summary the outcome already says (or no agent acts on).
_SUMMARY_DROPPED = ("durations", "execution_id", "role", "status", "errors", "issue_url", "mr_url")


def outcome(result: RunResult) -> RunOutcome:
    """The tool's view of a run result; a failed run without errors names its failed tests."""
    if result.status == "failed" and not result.errors:
        result.errors = [
            f"{t.get('kind')}: {t.get('status')} ({t.get('passed', 0)} passed, "
            f"{t.get('failed', 0)} failed)"
            for t in result.summary.get("tests") or []
            if isinstance(t, dict) and t.get("status") not in ("passed", "skipped")]
    summary = {k: v for k, v in result.summary.items()
               if k not in _SUMMARY_DROPPED and v not in ([], {})}
    return RunOutcome(
        execution_id=result.execution_id, role=result.role, status=result.status,
        next_step=_next_step(result), next_nodes=result.next_nodes or None,
        interrupt=result.interrupt, summary=summary or None,
        errors=result.errors[-10:] or None, issue_url=result.issue_url, mr_url=result.mr_url,
        untested=result.untested or None, notes=result.notes or None)


def _settled(result: RunResult) -> RunOutcome:
    """A run that paused, ended or was rejected is a result; a failed run is a tool error
    naming the execution, what failed and how to go on (the run is kept for resume)."""
    out = outcome(result)
    if out.status == "failed":
        summary = out.summary or {}
        node, digest = summary.get("failed_node"), summary.get("failure_digest")
        where = f" at {node}" if node else ""
        last = f" Last failure digest: {json.dumps(digest)}." if digest else ""
        raise ToolError(
            f"WorkflowFailed: execution {out.execution_id} (role {out.role!r}) failed{where}: "
            f"{'; '.join((out.errors or [])[-5:]) or 'see get_execution'}.{last} "
            f"Next: {out.next_step}")
    return out


async def box_up_role(
    ctx: Ctx,
    role: Annotated[str, Field(description="role name, e.g. 'common'")],
    breakpoints: Annotated[list[str] | None, Field(description="pause before these nodes")] = None,
    auto_approve: Annotated[bool, Field(description="skip the human approval pause")] = False,
    allow_untested: Annotated[
        bool, Field(description="let auto_approve merge a role without tests")
    ] = False,
    repair_rounds: Annotated[
        int | None, Field(ge=0, le=10, description="repair pauses when tests fail (default 2)")
    ] = None,
    ignore_deps: Annotated[
        bool, Field(description="box up although dependencies are not boxed up; ask first")
    ] = False,
) -> RunOutcome:
    """Box up a role: validate, molecule/pytest, commit, push, issue and MR, human
    approval. Failing tests pause it for repair (interrupt kind 'repair'). Returns at a
    pause, a failure (tool error with the next step) or the end, with execution_id and
    next_step."""
    runner = await state_of(ctx).open_runner()
    result = await start_run(runner, role, breakpoints=breakpoints, auto_approve=auto_approve,
                             allow_untested=allow_untested, ignore_deps=ignore_deps,
                             on_progress=ProgressReporter(ctx), repair_rounds=repair_rounds)
    return _settled(result)


async def resume_execution(
    ctx: Ctx,
    execution_id: ExecutionId,
    approved: Annotated[bool | None, Field(description="the human's decision")] = None,
    comment: Annotated[str | None, Field(max_length=2000)] = None,
) -> RunOutcome:
    """Continue a paused, failed or crashed run; at the approval interrupt pass the human's
    decision (approved, comment); at a repair pause none (it re-tests). Returns like
    box_up_role."""
    runner = await state_of(ctx).open_runner()
    result = await resume_run(runner, execution_id, approved=approved, comment=comment,
                              on_progress=ProgressReporter(ctx))
    return _settled(result)


async def cancel_execution(ctx: Ctx, execution_id: ExecutionId) -> RunOutcome:
    """Cancel an unfinished run for good (a run in another process stops at its next
    node)."""
    return outcome(await cancel_run(state_of(ctx).runner(), execution_id))


def get_execution(
    ctx: Ctx,
    execution_id: ExecutionId,
    include_state: Annotated[bool, Field(description="add the last checkpointed state")] = False,
) -> dict[str, Any]:
    """One execution: status, nodes, error, result. To poll a run or explain a failure."""
    data = state_of(ctx).runner().get(execution_id)
    if not include_state:
        data.pop("checkpoint_data", None)
    return execution_view(data)


def list_executions(
    ctx: Ctx,
    status: Annotated[ExecutionStatus | None, Field(description="only this status")] = None,
    role: Annotated[str | None, Field(description="only this role")] = None,
    limit: PageSize = 20,
    cursor: Cursor = None,
) -> Page:
    """Executions newest first: find runs awaiting a decision or a role's last run."""
    runner = state_of(ctx).runner()
    return fetch_page(cursor, limit, lambda offset, count: [execution_item(r) for r in runner.list(
        status=status, role=role, limit=count, offset=offset)])


async def execution_history(
    ctx: Ctx, execution_id: ExecutionId, limit: PageSize = 50, cursor: Cursor = None
) -> Page:
    """A run's checkpoints, oldest first: step, nodes run, nodes next."""
    items = [checkpoint_item(c.model_dump())
             for c in await (await state_of(ctx).open_runner()).history(execution_id)]
    return fetch_page(cursor, limit, lambda offset, count: items[offset:offset + count])

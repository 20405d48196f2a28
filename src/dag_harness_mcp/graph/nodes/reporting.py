"""report_summary and notify_failure: the run's final status and summary."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from dag_harness_mcp.graph.context import NodeContext
from dag_harness_mcp.graph.nodes._guard import Update, in_thread, node
from dag_harness_mcp.graph.state import BoxUpRoleState

__all__ = ["build_summary", "notify_failure", "report_summary"]


def build_summary(state: BoxUpRoleState, status: str) -> dict[str, Any]:
    durations = dict(state.get("node_durations") or {})
    return {
        "role": state.get("role_name"),
        "status": status,
        "execution_id": state.get("execution_id"),
        "tests": state.get("test_summary") or [],
        "tests_passed": state.get("tests_passed"),
        "regressions": state.get("regressions") or [],
        "mr_url": state.get("mr_url"),
        "issue_url": state.get("issue_url"),
        "branch": state.get("branch"),
        "commit_sha": state.get("commit_sha"),
        "merge_train": state.get("merge_train"),
        "approval_comment": state.get("approval_comment"),
        "failed_node": state.get("failed_node"),
        "errors": list(state.get("errors") or []),
        "durations": {"nodes_ms": durations, "total_ms": round(sum(durations.values()), 3)},
    }


async def _remember(runtime: Runtime[NodeContext], summary: dict[str, Any]) -> None:
    if runtime.store is not None:
        from dag_harness_mcp.service.store import remember_run

        await remember_run(runtime.store, summary)


async def _finish(
    state: BoxUpRoleState, runtime: Runtime[NodeContext], status: str, action: str
) -> Update:
    summary = build_summary(state, status)
    await _remember(runtime, summary)
    await in_thread(
        runtime.context.app.audit, action, entity_type="execution",
        entity_id=runtime.context.execution_id,
        details={"role": summary["role"], "status": status, "mr_url": summary["mr_url"],
                 "errors": summary["errors"][-5:]},
    )
    return {"status": status, "summary": summary}


@node("report_summary")
async def report_summary(state: BoxUpRoleState, runtime: Runtime[NodeContext]) -> Update:
    """The end of a run that reached a decision: completed, or rejected by a person."""
    status = "rejected" if state.get("human_approved") is False else "completed"
    return await _finish(state, runtime, status, f"workflow.{status}")


@node("notify_failure")
async def notify_failure(state: BoxUpRoleState, runtime: Runtime[NodeContext]) -> Update:
    """The end of a failed run: the errors, which node failed and what ran before it."""
    return await _finish(state, runtime, "failed", "workflow.failed")

"""report_summary and notify_failure: the run's final status and summary."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from dag_harness_mcp.graph.nodes.decorator import Update, node
from dag_harness_mcp.graph.state import BoxUpRoleState, NodeContext
from dag_harness_mcp.runner.digest import failure_digest
from dag_harness_mcp.store.namespaces import remember_run

__all__ = ["build_summary", "notify_failure", "report_summary", "tests_failed_message"]


def build_summary(state: BoxUpRoleState, status: str) -> dict[str, Any]:
    durations = dict(state.get("node_durations") or {})
    return {
        "role": state.get("role_name"),
        "status": status,
        "execution_id": state.get("execution_id"),
        "tests": state.get("test_summary") or [],
        "tests_passed": state.get("tests_passed"),
        "untested": bool(state.get("untested")),
        "regressions": state.get("regressions") or [],
        "mr_url": state.get("mr_url"),
        "issue_url": state.get("issue_url"),
        "branch": state.get("branch"),
        "commit_sha": state.get("commit_sha"),
        "merge_train": state.get("merge_train"),
        "approval_comment": state.get("approval_comment"),
        "failed_node": state.get("failed_node"),
        "errors": list(state.get("errors") or []),
        **_digest_of(state, status),
        "durations": {"nodes_ms": durations, "total_ms": round(sum(durations.values()), 3)},
    }


def _digest_of(state: BoxUpRoleState, status: str) -> dict[str, Any]:
    """A run that failed on its tests reports the last failure digest and its rounds."""
    if status != "failed" or state.get("tests_passed") is not False or state.get("failed_node"):
        return {}
    return {"failure_digest": failure_digest(state),
            "repair_rounds": int(state.get("repair_round") or 0)}


def tests_failed_message(state: BoxUpRoleState) -> str:
    """Why a run whose tests failed ended: the failing kinds and their first failing tests."""
    parts = []
    for kind in state.get("failed_kinds") or []:
        result: dict[str, Any] = (
            state.get("molecule_result") if kind == "molecule" else state.get("pytest_result")
        ) or {}
        # (a command that reported no tests is listed as one test named after its kind)
        failing = [str(name) for name in result.get("failing") or [] if name != kind]
        shown = ", ".join(failing[:5]) + (", ..." if len(failing) > 5 else "")
        status = result.get("status", "not run")
        if not shown:  # no test names (it did not start, timed out): its last words
            lines = [ln.strip() for ln in str(result.get("output_tail") or "").splitlines()]
            shown = next((ln for ln in reversed(lines) if ln), "")[:200]
        parts.append(f"{kind} {status}" + (f" ({shown})" if shown else ""))
    rounds = int(state.get("test_retries", 0))
    after = f" after {rounds} recovery round{'s' if rounds != 1 else ''}" if rounds else ""
    repairs = int(state.get("repair_round") or 0)
    if repairs:
        after += f"{' and' if after else ' after'} {repairs} repair round{'s' * (repairs != 1)}"
    return (
        f"tests failed{after}: {'; '.join(parts) or 'no test results'}; fix the role and "
        f"start a new run (`harness box-up-role {state.get('role_name')}`)"
    )


async def _finish(
    state: BoxUpRoleState,
    runtime: Runtime[NodeContext],
    status: str,
    action: str,
    errors: list[str] | None = None,
) -> Update:
    if errors:
        state = {**state, "errors": [*(state.get("errors") or []), *errors]}
    summary = build_summary(state, status)
    if runtime.store is not None:
        await remember_run(runtime.store, summary)
    await runtime.context.audit(action, role=summary["role"], status=status,
                                mr_url=summary["mr_url"], errors=summary["errors"][-5:])
    update: Update = {"status": status, "summary": summary}
    if errors:
        update["errors"] = errors
    return update


@node("report_summary")
async def report_summary(state: BoxUpRoleState, runtime: Runtime[NodeContext]) -> Update:
    """The end of a run that reached a decision: completed, or rejected by a person."""
    status = "rejected" if state.get("human_approved") is False else "completed"
    return await _finish(state, runtime, status, f"workflow.{status}")


@node("notify_failure")
async def notify_failure(state: BoxUpRoleState, runtime: Runtime[NodeContext]) -> Update:
    """The end of a failed run: the errors, which node failed and what ran before it."""
    extra = []
    if not state.get("failed_node") and state.get("tests_passed") is False:
        extra.append(tests_failed_message(state))
    return await _finish(state, runtime, "failed", "workflow.failed", extra)

"""human_approval: pause with the run's summary until a person approves or rejects."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from dag_harness_mcp.graph.context import NodeContext
from dag_harness_mcp.graph.nodes._guard import Update, node
from dag_harness_mcp.graph.state import BoxUpRoleState

__all__ = ["approval_payload", "human_approval", "parse_response"]


def approval_payload(state: BoxUpRoleState) -> dict[str, Any]:
    """What the person sees; pure, so the node re-running on resume asks the same question."""
    role = state.get("role_name", "")
    return {
        "kind": "approval",
        "question": f"Approve merging the box-up of role {role!r} into the default branch?",
        "role": role,
        "execution_id": state.get("execution_id"),
        "mr_url": state.get("mr_url"),
        "issue_url": state.get("issue_url"),
        "branch": state.get("branch"),
        "commit_sha": state.get("commit_sha"),
        "tests": state.get("test_summary") or [],
        "regressions": state.get("regressions") or [],
        "dependants": state.get("dependants") or [],
        "resume_with": {"approved": "bool", "comment": "str"},
    }


def parse_response(value: Any) -> tuple[bool, str]:
    """``{"approved": bool, "comment": str}``; a bare bool is accepted; anything else rejects."""
    if isinstance(value, bool):
        return value, ""
    if isinstance(value, dict):
        return value.get("approved") is True, str(value.get("comment") or "")
    return False, f"unreadable approval response {value!r}; resume with {{'approved': bool}}"


@node("human_approval")
async def human_approval(state: BoxUpRoleState, runtime: Runtime[NodeContext]) -> Update:
    """Interrupt for a decision (skipped with auto-approve)."""
    if runtime.context.auto_approve:
        return {"human_approved": True, "approval_comment": "auto-approved"}
    approved, comment = parse_response(interrupt(approval_payload(state)))
    return {"human_approved": approved, "approval_comment": comment}

"""human_approval: pause with the run's summary until a person approves or rejects."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from dag_harness_mcp.graph.context import NodeContext
from dag_harness_mcp.graph.nodes.decorator import Update, node
from dag_harness_mcp.graph.state import BoxUpRoleState

__all__ = ["UNTESTED_NOTE", "approval_payload", "auto_approves", "human_approval",
           "parse_response"]

UNTESTED_NOTE = "no molecule scenario and no pytest suite: only the syntax check ran"


def auto_approves(state: BoxUpRoleState, auto_approve: bool) -> bool:
    """Auto-approve merges a tested role; an untested one only with ``allow_untested``."""
    return auto_approve and (not state.get("untested") or bool(state.get("allow_untested")))


def approval_payload(state: BoxUpRoleState, *, auto_approve: bool = False) -> dict[str, Any]:
    """What the person sees; pure, so the node re-running on resume asks the same question.
    An untested role says so in the question and carries ``untested: True``."""
    role = state.get("role_name", "")
    question = f"Approve merging the box-up of role {role!r} into the default branch?"
    extra: dict[str, Any] = {}
    if state.get("untested"):
        question = (f"Approve merging the UNTESTED box-up of role {role!r} into the default "
                    f"branch ({UNTESTED_NOTE})?")
        extra["untested"] = True
        if auto_approve:
            extra["auto_approve_skipped"] = (
                "auto-approve does not merge untested roles unless allowed (--allow-untested)")
    return {
        "kind": "approval",
        "question": question,
        **extra,
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
    auto = runtime.context.auto_approve
    if auto_approves(state, auto):
        comment = "auto-approved" + (" (untested, allowed)" if state.get("untested") else "")
        return {"human_approved": True, "approval_comment": comment}
    approved, comment = parse_response(interrupt(approval_payload(state, auto_approve=auto)))
    return {"human_approved": approved, "approval_comment": comment}

"""create_issue, create_mr, human_approval and add_to_merge_train: the forge nodes
find-or-create, so a resume finds what an earlier attempt made (the forge retries its own
requests); human_approval pauses with the run's summary until a person approves or rejects."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from dag_harness_mcp.errors import ForgeError
from dag_harness_mcp.forge.base import MergeRequestRef
from dag_harness_mcp.forge.templates import (
    DescriptionContext,
    render_issue_description,
    render_issue_title,
    render_mr_description,
    render_mr_title,
)
from dag_harness_mcp.graph.nodes.decorator import Update, node
from dag_harness_mcp.graph.state import BoxUpRoleState, NodeContext

__all__ = [
    "LABELS", "UNTESTED_LABEL", "UNTESTED_NOTE", "add_to_merge_train", "approval_payload",
    "create_issue", "create_mr", "description_context", "human_approval", "labels_for",
    "parse_response",
]

LABELS = ["dag-harness", "box-up"]
UNTESTED_LABEL = "untested"
_TRAIN_ACTIVE = ("queued", "running")
UNTESTED_NOTE = "no molecule scenario and no pytest suite: only the syntax check ran"


def labels_for(state: BoxUpRoleState) -> list[str]:
    """The issue's and MR's labels: ``untested`` too for a role without tests."""
    return [*LABELS, UNTESTED_LABEL] if state.get("untested") else list(LABELS)


def description_context(state: BoxUpRoleState, ctx: NodeContext) -> DescriptionContext:
    return DescriptionContext(
        role=state["role_name"],
        wave=state.get("wave"),
        dependencies=state.get("dependencies") or [],
        dependants=state.get("dependants") or [],
        tests=state.get("test_summary") or [],
        regressions=state.get("regressions") or [],
        issue_url=state.get("issue_url"),
        mr_url=state.get("mr_url"),
        execution_id=ctx.execution_id,
        untested=bool(state.get("untested")),
    )


@node("create_issue")
async def create_issue(state: BoxUpRoleState, runtime: Runtime[NodeContext]) -> Update:
    """The role's box-up issue (found again if it exists)."""
    ctx = runtime.context
    labels = labels_for(state)
    await ctx.forge.ensure_labels(labels)
    issue = await ctx.forge.find_or_create_issue(
        role=state["role_name"],
        title=render_issue_title(state["role_name"]),
        description=render_issue_description(description_context(state, ctx)),
        labels=labels,
        execution_id=ctx.execution_id,
    )
    return {"issue_iid": issue.iid, "issue_url": issue.web_url}


@node("create_mr")
async def create_mr(state: BoxUpRoleState, runtime: Runtime[NodeContext]) -> Update:
    """The merge request from the role's branch into the default branch."""
    ctx = runtime.context
    mr = await ctx.forge.find_or_create_merge_request(
        role=state["role_name"],
        source_branch=state["branch"],
        target_branch=ctx.settings.default_branch,
        title=render_mr_title(state["role_name"]),
        description=render_mr_description(description_context(state, ctx)),
        labels=labels_for(state),
        issue_iid=state.get("issue_iid"),
        execution_id=ctx.execution_id,
    )
    return {"mr_iid": mr.iid, "mr_url": mr.web_url, "merge_request": asdict(mr)}


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
    # auto-approve merges a tested role; an untested one only with ``allow_untested``
    if auto and (not state.get("untested") or state.get("allow_untested")):
        comment = "auto-approved" + (" (untested, allowed)" if state.get("untested") else "")
        return {"human_approved": True, "approval_comment": comment}
    approved, comment = parse_response(interrupt(approval_payload(state, auto_approve=auto)))
    return {"human_approved": approved, "approval_comment": comment}


async def _drain_local_train(forge: Any, target: str, mr_iid: int) -> None:
    """The local forge merges only when asked: process its train until our MR is done."""
    process = getattr(forge, "process_merge_train", None)
    if process is None:
        return
    for _ in range(1000):  # bounded: every call merges or fails the train's head
        entry = await forge.merge_train_status(mr_iid)
        if entry.status not in _TRAIN_ACTIVE:
            return
        if await process(target) is None:
            return


@node("add_to_merge_train")
async def add_to_merge_train(state: BoxUpRoleState, runtime: Runtime[NodeContext]) -> Update:
    """Queue the approved MR on the merge train (and, locally, merge it into origin)."""
    ctx = runtime.context
    raw = state.get("merge_request")
    if not raw:
        raise ForgeError("no merge request in the state; the run must pass create_mr first", 400)
    mr = MergeRequestRef(**raw)
    entry = await ctx.forge.add_to_merge_train(mr, sha=state.get("commit_sha"))
    await _drain_local_train(ctx.forge, mr.target_branch, mr.iid)
    entry = await ctx.forge.merge_train_status(mr.iid)
    train = asdict(entry)
    if entry.status == "failed":
        reason = train.get("reason") or "see the forge"
        raise ForgeError(
            f"merge request !{mr.iid} failed on the merge train: {reason}; rebase "
            f"{mr.source_branch!r} on {mr.target_branch!r} and resume", 409,
        )
    return {"merge_train": train}

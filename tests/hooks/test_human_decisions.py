"""Decisions only a person makes: the PreToolUse hook answers "ask" for approving,
rejecting, auto-approving, granting, revoking and cancelling through the harness's MCP
tools (both tool-name forms), with or without a context; reads and a resume without a
decision stay the agent's."""

from __future__ import annotations

from typing import Any

import pytest

from dag_harness_mcp.db import StateDB
from dag_harness_mcp.service.capabilities import open_role_context
from support.hookrunner import HookRunner, asked, denial

PLUGIN = "mcp__plugin_dag-harness_dag-harness__"
PROJECT = "mcp__dag-harness__"


@pytest.mark.parametrize("prefix", [PLUGIN, PROJECT])
@pytest.mark.parametrize(("tool", "tool_input", "says"), [
    ("resume_execution", {"execution_id": 7, "approved": True}, "harness resume 7 --approve"),
    ("resume_execution", {"execution_id": 7, "approved": "true"}, "harness resume 7 --approve"),
    ("resume_execution", {"execution_id": 7, "approved": 1}, "harness resume 7 --approve"),
    ("resume_execution", {"execution_id": 7, "approved": False}, "harness resume 7 --reject"),
    ("resume_execution", {"execution_id": 7, "approved": "no", "comment": "x"},
     "harness resume 7 --reject"),
    ("box_up_role", {"role": "web", "auto_approve": True},
     "harness box-up-role web --auto-approve"),
    ("box_up_role", {"role": "web", "auto_approve": "yes"},
     "harness box-up-role web --auto-approve"),
    ("grant_capabilities", {"name": "x", "file_write": ["/**"]}, "harness capabilities grant"),
    ("revoke_capabilities", {"context_id": 3}, "harness capabilities revoke 3"),
    ("cancel_execution", {"execution_id": 7}, "harness cancel 7"),
])
def test_human_only_calls_are_asked_without_a_context_naming_the_cli_command(
    hook: HookRunner, state: StateDB, prefix: str, tool: str, tool_input: dict[str, Any],
    says: str
) -> None:
    reason = asked(hook.pre(prefix + tool, tool_input, "h1"))
    assert says in reason and "person" in reason
    row = state.fetchone("SELECT status, decision FROM tool_calls WHERE tool_use_id = 'h1'")
    assert row == {"status": "started", "decision": "ask"}
    [audit] = state.fetchall("SELECT action, entity_id FROM audit_log")
    assert audit == {"action": "human_decision_asked", "entity_id": "h1"}


@pytest.mark.parametrize(("tool", "tool_input"), [
    ("resume_execution", {"execution_id": 7}),
    ("resume_execution", {"execution_id": 7, "approved": None, "comment": "re-test"}),
    ("box_up_role", {"role": "web"}),
    ("box_up_role", {"role": "web", "auto_approve": False}),
    ("box_up_role", {"role": "web", "auto_approve": "false"}),
    ("get_execution", {"execution_id": 7}),
    ("list_capabilities", {}),
    ("query_state", {"sql": "SELECT 1"}),
])
def test_plain_resumes_runs_without_auto_approve_and_reads_stay_the_agents(
    hook: HookRunner, app: Any, tool: str, tool_input: dict[str, Any]
) -> None:
    assert hook.pre(PLUGIN + tool, tool_input, "n1") is None
    worktree = hook.project / "wt"
    worktree.mkdir()
    open_role_context(app, "common", str(worktree), session_id="sess-1")
    assert hook.pre(PLUGIN + tool, tool_input, "n2") is None


def test_inside_a_context_a_human_only_call_is_still_asked_unless_the_context_denies_it(
    hook: HookRunner, app: Any
) -> None:
    worktree = hook.project / "wt"
    worktree.mkdir()
    open_role_context(app, "common", str(worktree), session_id="sess-1")
    assert "harness resume 2 --approve" in asked(
        hook.pre(PROJECT + "resume_execution", {"execution_id": 2, "approved": True}, "c1"))
    # A context without the harness's tools refuses the call: deny wins over ask.
    open_role_context(app, "web", str(worktree), session_id="sess-2", mcp_tools=[])
    assert "no mcp_tool pattern" in denial(hook.pre(
        PROJECT + "resume_execution", {"execution_id": 2, "approved": True}, "c2",
        session="sess-2"))

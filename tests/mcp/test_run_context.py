"""A box-up run through the MCP tools holds a capability context on the project: while it
pauses at approval the real PreToolUse hook refuses writes outside the role's worktree;
once the run ends (approved, cancelled) the context is revoked and the same write passes."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mcp.client import Client

from dag_harness_mcp.config import Settings
from dag_harness_mcp.mcp.server import create_server
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.roles import sync_roles
from support.hookrunner import HookRunner, denial
from support.mcpkit import failing_pytest, structured


def _contexts(settings: Settings, execution_id: int, *, active_only: bool) -> list[Any]:
    with HarnessApp.open(settings) as app:
        return app.db.capabilities.contexts(active_only=active_only, execution_id=execution_id)


def _synced(settings: Settings) -> Any:
    with HarnessApp.open(settings) as app:
        sync_roles(app)
    return create_server(settings)


async def test_paused_run_confines_writes_to_its_worktree_until_approved(
    mcp_settings: Settings, role_repo: Path
) -> None:
    hook = HookRunner(role_repo, mcp_settings.database_path)
    outside = {"file_path": str(role_repo / "README.md"), "content": "x"}
    worktree = os.path.realpath(mcp_settings.worktrees_dir / "packages")
    async with Client(_synced(mcp_settings)) as client:
        run = structured(await client.call_tool("box_up_role", {"role": "packages"}))
        eid = run["execution_id"]
        paused = _contexts(mcp_settings, eid, active_only=True)
        refused = hook.pre("Write", outside, "w-pause")
        inside = hook.pre("Write", {"file_path": f"{worktree}/tasks/x.yml", "content": ""}, "w-in")
        force = hook.pre("Bash", {"command": "git push origin +box-up/packages"}, "b-force")
        tool = hook.pre("mcp__plugin_dag-harness_dag-harness__get_execution",
                        {"execution_id": eid}, "m-get")
        done = structured(await client.call_tool(
            "resume_execution", {"execution_id": eid, "approved": True}))

    assert run["status"] == "paused" and run["next_nodes"] == ["human_approval"]
    assert len(paused) == 1
    context = paused[0]
    assert context["capabilities"]["file_write"] == [f"{worktree}/**"]
    assert context["project_dir"] == os.path.realpath(role_repo)
    assert context["session_id"] is None and context["expires_at"] is not None
    assert "git push --force *" in context["capabilities"]["bash_deny"]
    assert "git push * main" in context["capabilities"]["bash_deny"]
    assert context["role_name"] == "packages" and context["execution_id"] == eid
    reason = denial(refused)
    assert "outside the file_write globs" in reason and "box-up packages" in reason
    assert inside is None and tool is None
    assert "force push" in denial(force)

    assert done["status"] == "completed"
    after = _contexts(mcp_settings, eid, active_only=False)
    assert [c["state"] for c in after] == ["revoked"]
    assert hook.pre("Write", outside, "w-after") is None


async def test_cancelling_a_paused_run_revokes_its_context_and_resume_reuses_it(
    mcp_settings: Settings,
) -> None:
    async with Client(_synced(mcp_settings)) as client:
        run = structured(await client.call_tool("box_up_role", {"role": "common"}))
        eid = run["execution_id"]
        undecided = await client.call_tool("resume_execution", {"execution_id": eid})
        kept = _contexts(mcp_settings, eid, active_only=True)
        structured(await client.call_tool("cancel_execution", {"execution_id": eid}))

    assert undecided.is_error  # still waits for a decision: the same context stays
    assert len(kept) == 1
    assert _contexts(mcp_settings, eid, active_only=True) == []
    assert len(_contexts(mcp_settings, eid, active_only=False)) == 1


async def test_role_context_off_opens_no_context(
    settings_for: Callable[..., Settings], role_repo: Path, mcp_settings: Settings
) -> None:
    settings = settings_for(role_repo, forge="local", tests=mcp_settings.tests,
                            role_context=False)
    async with Client(_synced(settings)) as client:
        run = structured(await client.call_tool("box_up_role", {"role": "packages"}))

    assert run["status"] == "paused"
    assert _contexts(settings, run["execution_id"], active_only=False) == []


async def test_a_failed_run_and_a_failed_retry_each_give_their_context_back(
    settings_for: Callable[..., Settings], role_repo: Path
) -> None:
    settings = settings_for(role_repo, forge="local", repair_rounds=0, tests=failing_pytest())
    async with Client(_synced(settings)) as client:
        first = await client.call_tool("box_up_role", {"role": "packages"})
        listed = structured(await client.call_tool("list_executions", {}))
        eid = listed["items"][0]["id"]
        after_failure = _contexts(settings, eid, active_only=False)
        retried = await client.call_tool("resume_execution", {"execution_id": eid})

    assert first.is_error and listed["items"][0]["status"] == "failed"
    assert [c["state"] for c in after_failure] == ["revoked"]
    assert retried.is_error  # the retry held a context of its own, given back too
    assert [c["state"] for c in _contexts(settings, eid, active_only=False)] == [
        "revoked", "revoked"]


async def test_a_repair_pause_keeps_the_context_so_only_the_worktree_is_writable(
    settings_for: Callable[..., Settings], role_repo: Path
) -> None:
    settings = settings_for(role_repo, forge="local", repair_rounds=1, tests=failing_pytest())
    hook = HookRunner(role_repo, settings.database_path)
    async with Client(_synced(settings)) as client:
        run = structured(await client.call_tool("box_up_role", {"role": "packages"}))
        eid = run["execution_id"]
        paused = _contexts(settings, eid, active_only=True)
        role_dir = run["interrupt"]["role_dir"]
        inside = hook.pre("Edit", {"file_path": f"{role_dir}/tasks/main.yml",
                                   "old_string": "a", "new_string": "b"}, "e-in")
        outside = hook.pre("Edit", {"file_path": str(role_repo / "README.md"),
                                    "old_string": "a", "new_string": "b"}, "e-out")
        resume = hook.pre("mcp__plugin_dag-harness_dag-harness__resume_execution",
                          {"execution_id": eid}, "m-resume")
        await client.call_tool("resume_execution", {"execution_id": eid})  # fails again: ends

    assert (run["status"], run["interrupt"]["kind"]) == ("paused", "repair")
    assert [c["execution_id"] for c in paused] == [eid]
    assert inside is None and resume is None  # allowed: the worktree, a plain resume
    assert "file_write" in denial(outside)
    assert _contexts(settings, eid, active_only=True) == []

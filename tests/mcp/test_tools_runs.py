"""Run tools through an in-process client over the real box-up-role workflow: a pytest-only
role runs to its approval interrupt with progress per node, resumes to completion (local
forge, real git), and errors, cancellation and the history come back as documented."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client import Client
from mcp.server.mcpserver import MCPServer

from dag_harness_mcp.config import Settings
from dag_harness_mcp.mcp.server import create_server
from dag_harness_mcp.mcp.state import ServerState
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.roles import sync_roles
from dag_harness_mcp.service.run_types import pid_alive
from support.mcpkit import FAST_TESTS, error_text, failing_pytest, structured

Server = MCPServer[ServerState]
Progress = list[tuple[float, float | None, str | None]]


def _recorder(seen: Progress) -> Callable[[float, float | None, str | None], object]:
    async def record(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    return record


async def test_box_up_role_pauses_at_approval_with_progress_per_node(
    synced_server: Server,
) -> None:
    seen: Progress = []
    async with Client(synced_server) as client:
        run = structured(await client.call_tool(
            "box_up_role", {"role": "packages"}, progress_callback=_recorder(seen)))

    assert (run["status"], run["next_nodes"]) == ("paused", ["human_approval"])
    assert run["interrupt"]["kind"] == "approval" and run["interrupt"]["role"] == "packages"
    assert "resume_execution" in run["next_step"]
    messages = [m for _p, _t, m in seen]
    for node in ("validate_role", "create_worktree", "create_mr"):
        assert f"{node} started" in messages and f"{node} completed" in messages
    # A test node ends with its outcome rather than "completed".
    assert "run_pytest started" in messages and "pytest passed: 1 passed" in messages
    assert "human_approval waits for a decision" in messages
    values = [p for p, _t, _m in seen]
    assert values == sorted(values) and len(set(values)) == len(values)


async def test_resume_with_approval_completes_and_the_store_holds_the_run(
    synced_server: Server, role_repo: Path
) -> None:
    async with Client(synced_server) as client:
        run = structured(await client.call_tool("box_up_role", {"role": "packages"}))
        seen: Progress = []
        done = structured(await client.call_tool(
            "resume_execution",
            {"execution_id": run["execution_id"], "approved": True, "comment": "lgtm"},
            progress_callback=_recorder(seen)))
        row = structured(await client.call_tool(
            "get_execution", {"execution_id": run["execution_id"]}))
        memory = structured(await client.call_tool(
            "store_get", {"namespace": ["roles", "packages"], "key": "last_run"}))

    assert done["status"] == "completed" and done["mr_url"] is not None
    assert row["status"] == "completed" and "checkpoint_data" not in row
    assert {n["node"] for n in row["nodes"]} >= {"human_approval", "add_to_merge_train"}
    assert memory["found"] is True  # the workflow's nodes and the store tools share one store
    assert "add_to_merge_train completed" in [m for _p, _t, m in seen]


async def test_resume_without_a_decision_at_the_interrupt_is_a_tool_error(
    synced_server: Server,
) -> None:
    async with Client(synced_server) as client:
        run = structured(await client.call_tool("box_up_role", {"role": "packages"}))
        text = error_text(await client.call_tool(
            "resume_execution", {"execution_id": run["execution_id"]}))

    assert "waits for a decision" in text


async def test_list_get_history_and_cancel_of_an_execution(synced_server: Server) -> None:
    async with Client(synced_server) as client:
        run = structured(await client.call_tool(
            "box_up_role", {"role": "packages", "breakpoints": ["create_commit"]}))
        eid = run["execution_id"]
        paused = structured(await client.call_tool("list_executions", {"status": "paused"}))
        full = structured(await client.call_tool(
            "get_execution", {"execution_id": eid, "include_state": True}))
        history = structured(await client.call_tool(
            "execution_history", {"execution_id": eid, "limit": 2}))
        cancelled = structured(await client.call_tool("cancel_execution", {"execution_id": eid}))
        again = error_text(await client.call_tool("cancel_execution", {"execution_id": eid}))

    assert run["next_nodes"] == ["create_commit"] and "breakpoint" in run["next_step"]
    assert [e["id"] for e in paused["items"]] == [eid]
    assert full["state"]["values"]["role_name"] == "packages"
    assert len(history["items"]) == 2 and history["next_cursor"] == "2"
    assert paused["items"][0] == {"id": eid, "role": "packages", "status": "paused",
                                  "node": full["current_node"], "next": ["create_commit"]}
    assert cancelled["status"] == "cancelled"
    assert "already cancelled" in again


async def test_run_tool_errors_name_the_next_step(synced_server: Server) -> None:
    async with Client(synced_server) as client:
        unknown_role = error_text(await client.call_tool("box_up_role", {"role": "nope"}))
        bad_name = error_text(await client.call_tool("box_up_role", {"role": "../x"}))
        bad_breakpoint = error_text(await client.call_tool(
            "box_up_role", {"role": "packages", "breakpoints": ["nowhere"]}))
        unknown_run = error_text(await client.call_tool("get_execution", {"execution_id": 999}))
        bad_status = error_text(await client.call_tool("list_executions", {"status": "odd"}))

    assert "sync_roles" in unknown_role
    assert "InvalidNameError" in bad_name
    assert "valid nodes" in bad_breakpoint
    assert "NotFoundError" in unknown_run and "list_executions" in unknown_run
    assert "paused" in bad_status


def _failing_pytest(
    settings_for: Callable[..., Settings], role_repo: Path, printed: str, repair_rounds: int
) -> Settings:
    """Synced settings whose pytest prints ``printed`` and fails (no flaky re-run)."""
    settings = settings_for(role_repo, forge="local", repair_rounds=repair_rounds,
                            tests=failing_pytest(printed))
    with HarnessApp.open(settings) as app:
        sync_roles(app)
    return settings


async def test_a_failing_role_is_a_tool_error_naming_the_execution_and_next_step(
    settings_for: Callable[..., Settings], role_repo: Path
) -> None:
    settings = _failing_pytest(settings_for, role_repo, "boom", repair_rounds=0)
    async with Client(create_server(settings)) as client:
        text = error_text(await client.call_tool("box_up_role", {"role": "packages"}))
        row = structured(await client.call_tool("get_execution", {"execution_id": 1}))

    assert text.startswith("Error executing tool box_up_role: WorkflowFailed: execution 1 ")
    assert "failed: " in text and "pytest" in text
    assert "test_history" in text and "resume_execution(execution_id=1)" in text
    assert row["status"] == "failed"


@pytest.mark.slow
async def test_cancelling_the_call_stops_the_run_and_leaves_it_resumable(
    settings_for: Callable[..., Settings], role_repo: Path, tmp_path: Path
) -> None:
    pid_file = tmp_path / "pytest.pid"
    sleeper = [sys.executable, "-c",
               f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); "
               "time.sleep(120)"]
    settings = settings_for(role_repo, forge="local", tests={**FAST_TESTS, "pytest": sleeper})
    with HarnessApp.open(settings) as app:
        sync_roles(app)
    seen: Progress = []
    async with Client(create_server(settings)) as client:
        async with anyio.create_task_group() as tg:

            async def call() -> None:
                await client.call_tool("box_up_role", {"role": "packages"},
                                       progress_callback=_recorder(seen))

            tg.start_soon(call)
            with anyio.fail_after(60):
                while not pid_file.exists() or not pid_file.read_text():
                    await anyio.sleep(0.05)
            tg.cancel_scope.cancel()
        child = int(pid_file.read_text())
        with anyio.fail_after(30):
            while (row := await _only_execution(client))["pid"] is not None:
                await anyio.sleep(0.05)
    fast = settings_for(role_repo, forge="local", tests=FAST_TESTS)
    async with Client(create_server(fast)) as client:
        resumed = structured(await client.call_tool(
            "resume_execution", {"execution_id": row["id"]}))

    assert "run_pytest started" in [m for _p, _t, m in seen]
    assert not pid_alive(child)
    assert row["status"] == "running"
    assert (resumed["status"], resumed["next_nodes"]) == ("paused", ["human_approval"])


async def _only_execution(client: Client) -> dict[str, Any]:
    answer = structured(await client.call_tool(
        "query_state", {"sql": "SELECT id, status, pid FROM workflow_executions"}))
    assert len(answer["rows"]) == 1
    return dict(zip(answer["columns"], answer["rows"][0], strict=True))


async def test_two_box_ups_in_one_session_run_side_by_side(synced_server: Server) -> None:
    results: dict[str, dict[str, Any]] = {}
    async with Client(synced_server) as client:

        async def box_up(role: str) -> None:
            results[role] = structured(await client.call_tool("box_up_role", {"role": role}))

        async with anyio.create_task_group() as tg:
            tg.start_soon(box_up, "packages")
            tg.start_soon(box_up, "common")
        paused = structured(await client.call_tool("list_executions", {"status": "paused"}))

    assert {r["status"] for r in results.values()} == {"paused"}
    assert results["packages"]["execution_id"] != results["common"]["execution_id"]
    assert sorted(e["role"] for e in paused["items"]) == ["common", "packages"]


async def test_an_untested_role_comes_back_marked_untested_and_a_tested_one_unmarked(
    synced_server: Server,
) -> None:
    async with Client(synced_server) as client:
        untested = structured(await client.call_tool(
            "box_up_role", {"role": "monitoring/exporter", "ignore_deps": True}))
        tested = structured(await client.call_tool("box_up_role", {"role": "packages"}))
    assert untested["status"] == "paused" and untested["untested"] is True
    assert untested["interrupt"]["untested"] is True
    assert "UNTESTED" in untested["interrupt"]["question"]
    assert tested["status"] == "paused" and "untested" not in tested


async def test_failing_tests_pause_for_repair_and_get_execution_shows_the_same_request(
    settings_for: Callable[..., Settings], role_repo: Path
) -> None:
    settings = _failing_pytest(settings_for, role_repo, "AssertionError: port is 80",
                               repair_rounds=1)
    async with Client(create_server(settings)) as client:
        paused = structured(await client.call_tool("box_up_role", {"role": "packages"}))
        row = structured(await client.call_tool("get_execution", {"execution_id": 1}))
        decided = error_text(await client.call_tool(
            "resume_execution", {"execution_id": 1, "approved": True}))
        last = error_text(await client.call_tool("resume_execution", {"execution_id": 1}))

    assert (paused["status"], paused["next_nodes"]) == ("paused", ["repair"])
    request = paused["interrupt"]
    assert (request["kind"], request["round"], request["rounds"]) == ("repair", 1, 1)
    assert request["role_dir"].endswith("/worktrees/packages/ansible/roles/packages")
    [failure] = request["digest"]["failures"]
    assert failure["message"] == "AssertionError: port is 80"
    assert paused["next_step"] == request["next_step"]
    assert "resume_execution(execution_id=1) with no decision" in paused["next_step"]
    assert row["repair"] == request
    assert "waits for a repair, not a decision" in decided
    # the one round failed again: the run ends with the last digest in the tool error
    assert "failed" in last and "Last failure digest" in last and "port is 80" in last


async def test_dependency_order_is_a_tool_error_naming_the_order_and_a_merged_role_is_not_redone(
    synced_server: Server,
) -> None:
    async with Client(synced_server) as client:
        refused = error_text(await client.call_tool("box_up_role", {"role": "web"}))
        done = structured(await client.call_tool(
            "box_up_role", {"role": "common", "auto_approve": True}))
        again = structured(await client.call_tool("box_up_role", {"role": "common"}))
        web = structured(await client.call_tool("box_up_role", {"role": "web"}))
    assert "role 'web' depends on roles that are not boxed up yet: common (wave 0)" in refused
    assert 'in this order: box_up_role(role="common")' in refused
    assert "ignore_deps=true" in refused
    assert done["status"] == "completed"
    sha = done["summary"]["commit_sha"]
    assert again["status"] == "completed" and again["summary"]["unchanged"] is True
    assert again["notes"] == [f"already boxed up at {sha[:12]}, nothing changed"]
    assert web["status"] == "paused"

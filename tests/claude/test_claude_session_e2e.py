"""End to end: the real Claude Code CLI, this plugin's hooks and MCP server, a scripted model.

Each test scripts the model's turns (tool calls and exact token usage) on a local
endpoint, runs ``claude -p --output-format json --plugin-dir <repo>`` in its own
project, HOME and StateDB, and reads back what the hooks recorded.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from dag_harness_mcp.db import SQLiteStateDB
from dag_harness_mcp.hooks.pricing import PRICES
from dag_harness_mcp.service.capabilities import grant_capabilities
from support.claude_cli import CLIS, ROOT, require_claude
from support.claude_session import MODEL, Session
from support.fake_anthropic import Turn, text, tool_json, tool_use
from support.launcher import launcher_module
from support.rolerepo import RoleTree

pytestmark = pytest.mark.slow

PLUGIN_TOOL = "mcp__plugin_dag-harness_dag-harness__"
LIST_ROLES, SYNC_ROLES = PLUGIN_TOOL + "list_roles", PLUGIN_TOOL + "sync_roles"


def _rows(db_path: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    database = SQLiteStateDB(db_path)
    try:
        return [tuple(row) for row in database.connection().execute(sql, params).fetchall()]
    finally:
        database.close()


def _price(usage: list[tuple[int, int, int, int]]) -> float:
    inp, out, write, read = PRICES[MODEL]
    return sum((i * inp + o * out + w * write + r * read) / 1e6 for i, o, w, r in usage)


def test_bash_write_edit_session_is_recorded_with_exact_token_usage(session: Session) -> None:
    target = session.project / "notes.txt"
    turns = [
        Turn([text("Making a file."),
              tool_use("Bash", {"command": "echo hi > made.txt", "description": "make"}, "tu_b")],
             input_tokens=120, output_tokens=21, cache_creation_input_tokens=300,
             cache_read_input_tokens=7),
        Turn([tool_use("Write", {"file_path": str(target), "content": "hello\n"}, "tu_w")],
             input_tokens=230, output_tokens=32, cache_read_input_tokens=400),
        Turn([tool_use("Edit", {"file_path": str(target), "old_string": "hello",
                                "new_string": "goodbye"}, "tu_e")],
             input_tokens=340, output_tokens=43),
        Turn([text("All done.")], input_tokens=450, output_tokens=54),
    ]
    run, _ = session.run(turns, allowed=["Bash", "Write", "Edit"])

    assert run.result["is_error"] is False and run.result["result"] == "All done."
    assert run.result["session_id"] == session.session_id
    assert target.read_text() == "goodbye\n"
    assert (session.project / "made.txt").read_text() == "hi\n"

    sid = session.session_id
    [(status, cwd, model, end_reason)] = _rows(
        session.db_path,
        "SELECT status, cwd, model, end_reason FROM agent_sessions WHERE session_id = ?", sid)
    assert (status, cwd, model) == ("ended", str(session.project), MODEL)
    assert end_reason
    calls = _rows(session.db_path, "SELECT tool_use_id, tool_name, status, tool_input "
                  "FROM tool_calls WHERE session_id = ? ORDER BY id", sid)
    assert [c[:3] for c in calls] == [("tu_b", "Bash", "succeeded"), ("tu_w", "Write", "succeeded"),
                                      ("tu_e", "Edit", "succeeded")]
    assert json.loads(str(calls[2][3]))["new_string"] == "goodbye"
    changes = _rows(session.db_path, "SELECT tool_use_id, tool_name, path FROM file_changes "
                    "WHERE session_id = ? ORDER BY id", sid)
    assert changes == [("tu_b", "Bash", str(session.project / "made.txt")),
                       ("tu_w", "Write", str(target)), ("tu_e", "Edit", str(target))]

    usage = _rows(session.db_path, "SELECT message_id, model, input_tokens, output_tokens, "
                  "cache_creation_tokens, cache_read_tokens FROM token_usage "
                  "WHERE session_id = ? ORDER BY message_id", sid)
    expected = [(120, 21, 300, 7), (230, 32, 0, 400), (340, 43, 0, 0), (450, 54, 0, 0)]
    assert usage == [(f"msg_scripted_{n:03d}", MODEL, *e) for n, e in enumerate(expected)]
    [(messages, inp, out, cache_w, cache_r, cost)] = _rows(
        session.db_path, "SELECT messages, input_tokens, output_tokens, "
        "cache_creation_tokens, cache_read_tokens, cost_usd FROM v_session_costs "
        "WHERE session_id = ?", sid)
    assert (messages, inp, out, cache_w, cache_r) == (4, 1140, 150, 300, 407)
    assert cost == pytest.approx(_price(expected), rel=1e-9)
    # Claude Code's own bill for the same scripted usage agrees.
    assert run.result["total_cost_usd"] == pytest.approx(cost, rel=1e-6)


def test_write_outside_granted_worktree_comes_back_as_permission_denial(
        session: Session) -> None:
    worktree = session.project / "worktrees" / "common"
    worktree.mkdir(parents=True)
    inside, outside = worktree / "ok.txt", session.project / "README.md"
    app = session.app()
    try:
        context = grant_capabilities(
            app, session_id=session.session_id, project_dir=None, role="common",
            file_write=[f"{worktree}/**"], bash_allow=["*"], bash_deny=[], mcp_tools=[],
            gitlab_write=False, ttl_seconds=600, name="box-up common")
    finally:
        app.close()
    turns = [
        Turn([tool_use("Write", {"file_path": str(inside), "content": "in\n"}, "tu_in")]),
        Turn([tool_use("Write", {"file_path": str(outside), "content": "out\n"}, "tu_out")]),
        Turn([text("Blocked, as expected.")]),
    ]
    run, endpoint = session.run(turns, allowed=["Write"])

    assert inside.read_text() == "in\n"
    assert not outside.exists()
    denials = run.result["permission_denials"]
    assert [(d["tool_name"], d["tool_use_id"], d["tool_input"]["file_path"]) for d in denials] \
        == [("Write", "tu_out", str(outside))]
    result = endpoint.tool_results()["tu_out"]
    assert result.get("is_error") is True
    reason = json.dumps(result["content"])
    assert "file_write" in reason and f"#{context.id}" in reason
    assert "harness capabilities grant" in reason
    calls = _rows(session.db_path, "SELECT tool_use_id, status FROM tool_calls "
                  "WHERE session_id = ? ORDER BY id", session.session_id)
    assert calls == [("tu_in", "succeeded"), ("tu_out", "denied")]
    audit = _rows(session.db_path, "SELECT action, entity_id FROM audit_log "
                  "WHERE action = 'capability_denied'")
    assert audit == [("capability_denied", "tu_out")]


@pytest.mark.parametrize("cli", sorted(CLIS))
def test_plugin_mcp_tool_list_roles_answers_through_claude_and_is_recorded(
        session: Session, cli: str) -> None:
    tree = RoleTree(session.project)
    tree.role("common")
    tree.role("nginx", deps=["common"])
    turns = [
        Turn([tool_use(SYNC_ROLES, {}, "tu_sync")], input_tokens=11, output_tokens=3),
        Turn([tool_use(LIST_ROLES, {}, "tu_list")], input_tokens=22, output_tokens=4),
        Turn([text("Two roles.")], input_tokens=33, output_tokens=5),
    ]
    run, endpoint = session.run(turns, allowed=[SYNC_ROLES, LIST_ROLES],
                                extra_env={"HARNESS_REPO_ROOT": str(session.project)},
                                cli=require_claude(CLIS[cli]))

    results = endpoint.tool_results()
    for use_id in ("tu_sync", "tu_list"):
        assert results[use_id].get("is_error") is not True, results[use_id]
    listed = tool_json(results["tu_list"])
    assert sorted(item["name"] for item in listed["items"]) == ["common", "nginx"]
    assert run.result["permission_denials"] == []
    calls = _rows(session.db_path, "SELECT tool_use_id, tool_name, status FROM tool_calls "
                  "WHERE session_id = ? ORDER BY id", session.session_id)
    assert calls == [("tu_sync", SYNC_ROLES, "succeeded"), ("tu_list", LIST_ROLES, "succeeded")]
    tokens = _rows(session.db_path, "SELECT SUM(input_tokens), SUM(output_tokens) "
                   "FROM token_usage WHERE session_id = ?", session.session_id)
    assert tokens == [(66, 12)]


def test_fresh_install_bootstraps_the_mcp_server_environment_offline(session: Session) -> None:
    """No prepared environment: scripts/harness_env.py builds one from uv.lock and the uv cache."""
    uv = shutil.which("uv") or str(ROOT / ".tools" / "venv" / "bin" / "uv")
    if not Path(uv).exists():
        pytest.skip("uv not installed: run ./dev setup")
    RoleTree(session.project).role("common")
    turns = [Turn([tool_use(SYNC_ROLES, {}, "tu_sync")]), Turn([text("Synced.")])]
    run, endpoint = session.run(turns, allowed=[SYNC_ROLES], extra_env={
        "HARNESS_PYTHON_ENV": "", "UV_OFFLINE": "1", "HARNESS_REPO_ROOT": str(session.project),
        # The session has its own HOME: point uv at the developer's warm cache.
        "UV_CACHE_DIR": os.environ.get("UV_CACHE_DIR") or str(Path.home() / ".cache" / "uv"),
        "PATH": f"{Path(uv).parent}{os.pathsep}{os.environ['PATH']}"})

    synced = tool_json(endpoint.tool_results()["tu_sync"])
    # The session's project is a plain directory: sync says box-up will need git, once.
    warnings = synced.pop("warnings", [])
    assert synced == {"added": 1, "total": 1}, synced
    assert len(warnings) == 1 and "not a git repository" in str(warnings[0]), warnings
    stamps = list(session.home.rglob("venv/.harness-lock"))
    assert len(stamps) == 1, "the plugin environment lives in CLAUDE_PLUGIN_DATA under HOME"
    assert stamps[0].read_text().strip() == launcher_module().wanted_stamp(ROOT)
    assert run.result["is_error"] is False


def test_failed_bash_and_a_subagent_are_recorded_and_linked_to_the_parent(
        session: Session) -> None:
    sub_prompt = "SUBAGENT-TASK: write sub.txt"
    turns = [
        Turn([tool_use("Bash", {"command": "exit 3"}, "tu_fail")], input_tokens=5,
             output_tokens=1),
        Turn([tool_use("Agent", {"description": "helper", "prompt": sub_prompt,
                                 "subagent_type": "general-purpose",
                                 "run_in_background": False}, "tu_agent")],
             input_tokens=7, output_tokens=2),
        Turn([text("Main done.")], input_tokens=9, output_tokens=3),
    ]
    sub = [
        Turn([tool_use("Bash", {"command": "echo sub > sub.txt"}, "tu_sub")],
             input_tokens=100, output_tokens=10, message_id="msg_sub_0"),
        Turn([text("Sub done.")], input_tokens=200, output_tokens=20, message_id="msg_sub_1"),
    ]
    session.run(turns, allowed=["Bash", "Agent"], threads={sub_prompt: sub})

    sid = session.session_id
    [(child, parent, agent_type, status)] = _rows(
        session.db_path, "SELECT session_id, parent_session_id, agent_type, status "
        "FROM agent_sessions WHERE parent_session_id IS NOT NULL")
    assert (parent, agent_type, status) == (sid, "general-purpose", "ended")
    calls = _rows(session.db_path, "SELECT session_id, tool_use_id, tool_name, status, error "
                  "FROM tool_calls ORDER BY tool_use_id")
    assert calls == [(sid, "tu_agent", "Agent", "succeeded", None),
                     (sid, "tu_fail", "Bash", "failed", "Exit code 3"),
                     (child, "tu_sub", "Bash", "succeeded", None)]
    assert _rows(session.db_path, "SELECT session_id, path FROM file_changes") == [
        (child, str(session.project / "sub.txt"))]
    usage = _rows(session.db_path, "SELECT session_id, message_id, input_tokens, output_tokens "
                  "FROM token_usage ORDER BY message_id")
    assert usage == [(sid, "msg_scripted_000", 5, 1), (sid, "msg_scripted_001", 7, 2),
                     (sid, "msg_scripted_002", 9, 3), (child, "msg_sub_0", 100, 10),
                     (child, "msg_sub_1", 200, 20)]


def test_plugin_mcp_tool_outside_the_granted_tools_is_denied(session: Session) -> None:
    RoleTree(session.project).role("common")
    app = session.app()
    try:
        grant_capabilities(
            app, session_id=session.session_id, project_dir=None, file_write=[],
            bash_allow=[], bash_deny=[], mcp_tools=[LIST_ROLES], gitlab_write=False,
            ttl_seconds=600, name="read-only roles")
    finally:
        app.close()
    turns = [
        Turn([tool_use(SYNC_ROLES, {}, "tu_sync")]),
        Turn([tool_use(LIST_ROLES, {}, "tu_list")]),
        Turn([text("Only listing allowed.")]),
    ]
    run, endpoint = session.run(turns, allowed=[SYNC_ROLES, LIST_ROLES],
                                extra_env={"HARNESS_REPO_ROOT": str(session.project)})

    assert [(d["tool_name"], d["tool_use_id"]) for d in run.result["permission_denials"]] == [
        (SYNC_ROLES, "tu_sync")]
    assert "mcp_tool" in json.dumps(endpoint.tool_results()["tu_sync"]["content"])
    assert tool_json(endpoint.tool_results()["tu_list"])["items"] == []  # never synced
    calls = _rows(session.db_path, "SELECT tool_use_id, status FROM tool_calls "
                  "WHERE session_id = ? ORDER BY id", session.session_id)
    assert calls == [("tu_sync", "denied"), ("tu_list", "succeeded")]

"""End to end without the plugin system: `harness install` settings drive the real Claude Code."""

from __future__ import annotations

import json
import sqlite3

import pytest

from dag_harness_mcp.service.capabilities import open_role_context
from dag_harness_mcp.service.integration import install_integration
from support.claude_cli import ROOT
from support.claude_session import Session
from support.fake_anthropic import Turn, text, tool_json, tool_use
from support.rolerepo import RoleTree

pytestmark = pytest.mark.slow

SYNC_ROLES = "mcp__dag-harness__sync_roles"


def test_project_install_records_serves_mcp_and_enforces_a_role_context(
        session: Session) -> None:
    RoleTree(session.project).role("common")
    install_integration(session.project, ROOT)
    worktree = session.project / "wt" / "common"
    worktree.mkdir(parents=True)
    app = session.app()
    try:
        context = open_role_context(app, "common", str(worktree), session.session_id)
    finally:
        app.close()
    outside = session.project / "ansible" / "roles" / "common" / "README.md"
    turns = [
        Turn([tool_use(SYNC_ROLES, {}, "tu_sync")], input_tokens=12, output_tokens=3),
        Turn([tool_use("Write", {"file_path": str(worktree / "x.yml"), "content": "a: 1\n"},
                       "tu_in")], input_tokens=13, output_tokens=4),
        Turn([tool_use("Write", {"file_path": str(outside), "content": "no\n"}, "tu_out")],
             input_tokens=14, output_tokens=5),
        Turn([text("Done.")], input_tokens=15, output_tokens=6),
    ]
    run, endpoint = session.run(turns, allowed=[SYNC_ROLES, "Write"], plugin=False,
                                extra_env={"HARNESS_REPO_ROOT": str(session.project)})

    synced = tool_json(endpoint.tool_results()["tu_sync"])
    assert (synced["added"], "errors" in synced) == (1, False)
    assert (worktree / "x.yml").read_text() == "a: 1\n" and not outside.exists()
    assert [d["tool_use_id"] for d in run.result["permission_denials"]] == ["tu_out"]
    assert f"#{context.id} 'box-up common'" in json.dumps(
        endpoint.tool_results()["tu_out"]["content"])
    db = sqlite3.connect(session.db_path)
    try:
        calls = db.execute("SELECT tool_use_id, tool_name, status FROM tool_calls "
                           "WHERE session_id = ? ORDER BY id", (session.session_id,)).fetchall()
        tokens = db.execute("SELECT SUM(input_tokens), SUM(output_tokens) FROM token_usage "
                            "WHERE session_id = ?", (session.session_id,)).fetchall()
    finally:
        db.close()
    assert calls == [("tu_sync", SYNC_ROLES, "succeeded"), ("tu_in", "Write", "succeeded"),
                     ("tu_out", "Write", "denied")]
    assert tokens == [(54, 18)]

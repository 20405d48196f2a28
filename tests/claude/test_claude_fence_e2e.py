"""The fence through the real Claude Code CLI (``claude -p``) with a scripted model.

A role context is open on the project exactly as a box-up run opens it
(``open_role_context`` bound to the project directory, writes only in the role's
worktree). The model then runs a Bash command whose outside write the parser cannot
see (``python3 -c``) and tries to approve a run through the harness's MCP tool. The
hook's rewritten Bash input (``updatedInput``) is what Claude Code runs: the write
inside the worktree lands, the one outside does not; the approval comes back as a
permission denial naming the CLI command a person runs.
"""

from __future__ import annotations

import json
import os
import uuid

import pytest

from dag_harness_mcp.db import SQLiteStateDB
from dag_harness_mcp.service.capabilities import open_role_context
from support.claude_session import Session
from support.fake_anthropic import Turn, text, tool_use

pytestmark = pytest.mark.slow

RESUME = "mcp__plugin_dag-harness_dag-harness__resume_execution"


def test_claude_runs_bash_in_the_sandbox_and_refuses_the_agents_own_approval(
        session: Session) -> None:
    worktree = session.project / ".harness" / "worktrees" / "common"
    worktree.mkdir(parents=True)
    outside = session.project / "README-outside.txt"
    hidden = f"/tmp/fence-e2e-{uuid.uuid4().hex[:10]}"
    app = session.app()
    try:
        context = open_role_context(app, "common", str(worktree),
                                    project_dir=str(session.project))
    finally:
        app.close()
    command = (f"python3 -c \"open('{outside}', 'w').write('pwned')\"; "
               f"python3 -c \"open('{hidden}', 'w').write('pwned')\"; "
               f"echo in > {worktree}/inside.txt; echo done")
    turns = [
        Turn([tool_use("Bash", {"command": command, "description": "work"}, "tu_bash")]),
        Turn([tool_use(RESUME, {"execution_id": 1, "approved": True}, "tu_approve")]),
        Turn([text("Stopped.")]),
    ]
    run, endpoint = session.run(turns, allowed=["Bash", RESUME],
                                extra_env={"HARNESS_REPO_ROOT": str(session.project)})

    assert (worktree / "inside.txt").read_text() == "in\n"
    assert not outside.exists()
    assert not os.path.exists(hidden)
    bash = endpoint.tool_results()["tu_bash"]
    assert "Read-only file system" in json.dumps(bash["content"])
    denials = run.result["permission_denials"]
    assert [(d["tool_name"], d["tool_use_id"]) for d in denials] == [(RESUME, "tu_approve")]
    refused = json.dumps(endpoint.tool_results()["tu_approve"]["content"])
    assert "harness resume 1 --approve" in refused
    database = SQLiteStateDB(session.db_path)
    try:
        rows = database.fetchall("SELECT tool_use_id, decision FROM tool_calls ORDER BY id")
        states = database.fetchall("SELECT state FROM v_context_capabilities "
                                   "WHERE context_id = ?", (context.id,))
        changes = database.fetchall("SELECT tool_use_id, path FROM file_changes")
    finally:
        database.close()
    assert [(r["tool_use_id"], r["decision"]) for r in rows] == [
        ("tu_bash", "sandbox"), ("tu_approve", "ask")]
    assert {s["state"] for s in states} == {"active"}
    # Recorded as the agent wrote it, not as the sandbox wrapper it ran in.
    assert [(c["tool_use_id"], c["path"]) for c in changes] == [
        ("tu_bash", str(worktree / "inside.txt"))]

"""End to end: the agent repairs a role inside the fence with the real Claude Code CLI.

A scripted model calls ``box_up_role`` on a role whose pytest fails; the run pauses for
repair; the model reads the digest it got back, ``Read``s the failing test and the role's
defaults in the worktree, ``Edit``s the defaults there, tries the same ``Edit`` on the main
checkout (denied: outside the worktree), and calls ``resume_execution`` without a
decision; the run re-tests and reaches the approval pause. The person approves from the
CLI, and the fix is what lands on origin's default branch.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from dag_harness_mcp.service.roles import sync_roles
from support.boxup_repo import BROKEN_DEFAULTS, FIXED_DEFAULTS, BoxUpRepo
from support.claude_cli import ROOT, require_claude
from support.claude_session import Session
from support.fake_anthropic import Turn, last_tool_results, text, tool_json, tool_use
from support.gitsh import git

pytestmark = pytest.mark.slow

TOOL = "mcp__plugin_dag-harness_dag-harness__"
BOX_UP, RESUME = TOOL + "box_up_role", TOOL + "resume_execution"


def _answer(body: dict[str, Any], use_id: str) -> dict[str, Any]:
    """What tool call ``use_id`` answered, anywhere in the conversation so far."""
    for message in body.get("messages", []):
        found = last_tool_results({"messages": [message]})
        if use_id in found:
            answer: dict[str, Any] = found[use_id]
            return answer
    raise AssertionError(f"no answer to {use_id} in the conversation")


def _read_what_the_digest_names(body: dict[str, Any]) -> Turn:
    """The model acts on the digest box_up_role returned: it reads the failing test (its
    ``where``, inside ``role_dir``) and the role's defaults."""
    request = _answer(body, "tu_box")["interrupt"]
    role_dir = Path(request["role_dir"])
    [failure] = request["digest"]["failures"]
    failing_file = role_dir / failure["where"].rsplit(":", 1)[0]
    return Turn([
        text(f"{failure['test']} failed: {failure['message']}. Reading it."),
        tool_use("Read", {"file_path": str(failing_file)}, "tu_read_test"),
        tool_use("Read", {"file_path": str(role_dir / "defaults" / "main.yml")}, "tu_read_def"),
    ])


def test_the_agent_repairs_the_role_in_the_worktree_and_the_person_approves_the_fix(
    tmp_path: Path,
) -> None:
    require_claude()
    boxup = BoxUpRepo.create(tmp_path)
    settings = boxup.overrides()
    (boxup.root / "harness.yml").write_text(yaml.safe_dump({
        "worktree_root": settings["worktree_root"], "tests": settings["tests"]}))
    boxup.add_broken_role("broken")  # (commits harness.yml with it)
    session = Session(boxup.root, tmp_path / "home", tmp_path / "state" / "harness.db",
                      str(uuid.uuid4()))
    app = session.app()
    try:
        sync_roles(app)
    finally:
        app.close()
    role_dir = boxup.base / "worktrees" / "broken" / "ansible" / "roles" / "broken"
    outside = boxup.root / "ansible" / "roles" / "broken" / "defaults" / "main.yml"
    edit = {"old_string": "broken_port: 80\n", "new_string": "broken_port: 8080\n"}

    turns = [
        Turn([tool_use(BOX_UP, {"role": "broken"}, "tu_box")]),
        _read_what_the_digest_names,
        Turn([tool_use("Edit", {"file_path": str(role_dir / "defaults" / "main.yml"), **edit},
                       "tu_edit")]),
        Turn([tool_use("Read", {"file_path": str(outside)}, "tu_read_out")]),
        Turn([tool_use("Edit", {"file_path": str(outside), **edit}, "tu_edit_out")]),
        lambda body: Turn([tool_use(  # no decision: re-test
            RESUME, {"execution_id": _answer(body, "tu_box")["execution_id"]}, "tu_resume")]),
        Turn([text("Fixed and re-tested; the merge request waits for your approval.")]),
    ]
    run, endpoint = session.run(turns, allowed=[BOX_UP, RESUME, "Read", "Edit"])

    results = endpoint.tool_results()
    paused = tool_json(results["tu_box"])
    assert (paused["status"], paused["interrupt"]["kind"]) == ("paused", "repair")
    assert paused["interrupt"]["role_dir"] == str(role_dir)
    assert paused["interrupt"]["failed_kinds"] == ["pytest"]
    [failure] = paused["interrupt"]["digest"]["failures"]
    assert failure["test"] == "tests/test_role.py::test_port_is_the_application_port"
    assert "resume_execution(execution_id=1)" in paused["next_step"]
    # the edit inside the worktree went through; the one outside was denied
    assert (role_dir / "defaults" / "main.yml").read_text() == FIXED_DEFAULTS
    assert outside.read_text() == BROKEN_DEFAULTS
    denials = [(d["tool_name"], d["tool_use_id"]) for d in run.result["permission_denials"]]
    assert denials == [("Edit", "tu_edit_out")]
    assert results["tu_edit_out"].get("is_error") is True
    resumed = tool_json(results["tu_resume"])
    assert (resumed["status"], resumed["interrupt"]["kind"]) == ("paused", "approval")

    # the person approves from the CLI
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_", "GITLAB_"))}
    env["HARNESS_DB_PATH"] = str(session.db_path)
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "harness"), "resume", "1", "--approve", "--json"],
        cwd=boxup.root, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert git(boxup.origin, "show", "main:ansible/roles/broken/defaults/main.yml") + "\n" == \
        FIXED_DEFAULTS
    assert git(boxup.origin, "log", "-1", "--format=%s", "main") == "box-up: broken"

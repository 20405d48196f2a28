"""The main path as a user meets it: the plugin installed from a clean clone, a role boxed up
through /box-up-role to the approval pause, approved from the command line, merged.

Exactly the README's install: ``git clone``, ``claude plugin marketplace add <clone>``,
``claude plugin install dag-harness@dag-harness``, then at once a plain ``claude -p``
session: no shell step. No ``HARNESS_PYTHON_ENV`` and no developer environment: PATH is
the system directories, node's and a directory holding only ``uv`` (a user who installed
uv), so the hooks run the system ``python3`` and the plugin's SessionStart hook (and the
MCP server's launcher, whichever takes the lock first) builds the plugin's own environment
from ``uv.lock``, offline from the uv cache. The role (``common`` of examples/ansible-repo)
has a molecule scenario and a pytest suite, and both run with the plugin environment's
toolchain. The scripted model calls ``box_up_role``; the person checks the toolchain with
``harness bootstrap --check-only`` and approves with that environment's ``harness``.

The clone is of the committed HEAD: uncommitted edits are not in it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from dag_harness_mcp.db import SQLiteStateDB
from dag_harness_mcp.service.example import prepare_example_checkout
from support.claude_cli import CLAUDE, ROOT, claude_env, require_claude, run_claude
from support.claude_session import MODEL
from support.fake_anthropic import FakeAnthropic, Turn, text, tool_json, tool_use
from support.launcher import launcher_module

pytestmark = pytest.mark.slow

TOOL = "mcp__plugin_dag-harness_dag-harness__"
GET_ROLE, SYNC_ROLES, BOX_UP = TOOL + "get_role", TOOL + "sync_roles", TOOL + "box_up_role"
SYSTEM_PATH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
# Variables of a developer's shell that would hand the plugin a prepared environment.
DEVELOPER_VARS = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "UV_PROJECT_ENVIRONMENT",
                  "PYENV_VERSION", "CONDA_PREFIX")


def _user_path(tmp_path: Path) -> str:
    uv = shutil.which("uv") or str(ROOT / ".tools" / "venv" / "bin" / "uv")
    node = shutil.which("node")
    if not Path(uv).exists() or node is None:
        pytest.skip("uv or node missing: run ./dev setup")
    only_uv = tmp_path / "uv-only"
    only_uv.mkdir()
    (only_uv / "uv").symlink_to(Path(uv).resolve())
    dirs = [str(only_uv), str(Path(node).parent), *SYSTEM_PATH]
    return os.pathsep.join(dict.fromkeys(dirs))


def _claude(env: dict[str, str], cwd: Path, *args: str) -> None:
    proc = subprocess.run([str(CLAUDE), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_installed_plugin_boxes_up_a_tested_role_to_approval_and_the_cli_approval_merges_it(
        tmp_path: Path) -> None:
    require_claude()
    clone = tmp_path / "dag-harness-mcp"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    example = prepare_example_checkout(tmp_path / "example")
    project, home = example.repo_root.resolve(), tmp_path / "home"
    role_dir = project / "ansible" / "roles" / "common"
    assert (role_dir / "molecule" / "default").is_dir() and (role_dir / "tests").is_dir()

    # As the skill says: get_role; unknown, so sync_roles; then box_up_role.
    turns = [Turn([tool_use(GET_ROLE, {"name": "common"}, "tu_get")]),
             Turn([tool_use(SYNC_ROLES, {}, "tu_sync")]),
             Turn([tool_use(BOX_UP, {"role": "common"}, "tu_box")]),
             Turn([text("common passed molecule and pytest and waits for your approval.")])]
    with FakeAnthropic(turns) as endpoint:
        env = claude_env(home, base_url=endpoint.url, trusted=[project], extra={
            "PATH": _user_path(tmp_path), "UV_OFFLINE": "1",
            # Its own HOME: point uv at the warm cache this machine has.
            "UV_CACHE_DIR": os.environ.get("UV_CACHE_DIR") or str(Path.home() / ".cache" / "uv"),
        })
        for var in DEVELOPER_VARS:
            env.pop(var, None)
        assert not any(k.startswith("HARNESS_") for k in env)
        _claude(env, project, "plugin", "marketplace", "add", str(clone))
        _claude(env, project, "plugin", "install", "dag-harness@dag-harness")
        # No shell step: the first session's SessionStart hook builds the environment.
        run = run_claude("/box-up-role common", cwd=project, env=env, timeout=600, args=[
            "--model", MODEL, "--allowedTools", GET_ROLE, SYNC_ROLES, BOX_UP])
    assert run.proc.returncode == 0 and endpoint.unscripted == 0, run
    venv = home / ".claude" / "plugins" / "data" / "dag-harness-dag-harness" / "venv"
    assert (venv / ".compiled").read_text() == "ok\n"
    # The skill's text reached the model with the role filled in.
    assert "The role to box up is: common" in json.dumps(endpoint.requests)

    results = endpoint.tool_results()
    assert "sync_roles" in json.dumps(results["tu_get"]["content"])
    synced = tool_json(results["tu_sync"])
    assert synced["added"] >= 10 and not synced.get("errors"), synced
    answer = results["tu_box"]
    assert answer.get("is_error") is not True, answer
    outcome = tool_json(answer)
    assert (outcome["role"], outcome["status"]) == ("common", "paused"), outcome
    assert outcome["interrupt"] and not outcome.get("untested")
    execution_id = int(outcome["execution_id"])

    # The session's server used that environment (built from the same sources: the
    # clone Claude Code runs it from and its cache copy have one digest).
    assert (venv / ".harness-lock").read_text().strip() == launcher_module(
        clone / "scripts" / "harness_env.py").wanted_stamp(clone)
    db = SQLiteStateDB(project / ".harness" / "harness.db")
    try:
        runs = {r["kind"]: r for r in db.tests.for_execution(execution_id)}
    finally:
        db.close()
    assert {k: r["status"] for k, r in runs.items()} == {"molecule": "passed",
                                                         "pytest": "passed"}
    assert runs["pytest"]["command"].startswith(f"{venv}/bin/python -m pytest")
    assert runs["pytest"]["passed"] >= 2

    # The person checks and approves from a terminal: the installed plugin's launcher runs
    # its environment's `harness` (no CLAUDE_PLUGIN_* there; it finds the data directory).
    [launcher] = (home / ".claude" / "plugins" / "cache").glob(
        "dag-harness/dag-harness/*/scripts/harness_env.py")
    terminal = {k: v for k, v in env.items() if not k.startswith(("ANTHROPIC_", "CLAUDE"))}
    check = subprocess.run(["python3", str(launcher), "harness", "bootstrap", "--check-only",
                            "--json"], cwd=project, env=terminal, capture_output=True,
                           text=True, timeout=600, check=False, stdin=subprocess.DEVNULL)
    assert "installing its Python environment" not in check.stderr, check.stderr
    toolchain = {c["name"]: c for c in json.loads(check.stdout)["checks"]}["role tests"]
    assert toolchain["ok"] and str(toolchain["detail"]).startswith(
        f"the harness's own environment {venv} (default;"), toolchain
    approved = subprocess.run(
        ["python3", str(launcher), "harness", "resume", str(execution_id), "--approve",
         "--comment", "looks good", "--json"], cwd=project, env=terminal, capture_output=True,
        text=True, timeout=600, check=False, stdin=subprocess.DEVNULL)
    assert approved.returncode == 0, approved.stdout + approved.stderr
    assert "installing its Python environment" not in approved.stderr  # reused, not rebuilt
    assert json.loads(approved.stdout)["status"] == "completed", approved.stdout

    db = SQLiteStateDB(project / ".harness" / "harness.db")
    try:
        execution = db.executions.require(execution_id)
        [mr] = db.forge.merge_requests_for_role("common")
    finally:
        db.close()
    assert execution["status"] == "completed"
    assert mr["state"] == "merged"
    # The role's commit is on the default branch of origin now.
    ancestor = subprocess.run(["git", "--git-dir", str(example.origin), "merge-base",
                               "--is-ancestor", str(mr["sha"]), "main"], check=False)
    assert mr["sha"] and ancestor.returncode == 0

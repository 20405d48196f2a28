"""The real hook script under every ``python3`` users may have, down to 3.9 (macOS) and 3.10.

Claude Code runs whatever ``python3`` is on PATH, so the stdlib-only hot path (and the
migrations it runs on a new database) must work there: a whole session is recorded,
a capability denial is answered, and nothing prints a traceback. ``vermin`` checks the
same modules statically for anything newer than 3.9.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dag_harness_mcp.db import SQLiteStateDB
from dag_harness_mcp.db.migrate import discover
from support.hookrunner import ROOT, HookRunner, denial, sandboxed
from support.interpreters import HOOK_PYTHONS, pyenv_python

SONNET = "claude-sonnet-4-5-20250929"
UPGRADE_FIXTURE = ROOT / "tests" / "fixtures" / "upgrade" / "v0.1.0-8ec8bb4"

# Every module the hook can import (tests/hooks/test_imports.py checks nothing else is).
HOT_PATH = [
    "hooks/harness_hook.py",
    "src/dag_harness_mcp/__init__.py",
    "src/dag_harness_mcp/clock.py",
    "src/dag_harness_mcp/errors.py",
    "src/dag_harness_mcp/names.py",
    "src/dag_harness_mcp/sandbox.py",
    "src/dag_harness_mcp/statedir.py",
    "src/dag_harness_mcp/hooks",
    "src/dag_harness_mcp/db/__init__.py",
    "src/dag_harness_mcp/db/migrate.py",
    "src/dag_harness_mcp/db/spool.py",
    "src/dag_harness_mcp/db/repos",
]


def _clean(proc: subprocess.CompletedProcess[bytes]) -> None:
    assert proc.returncode == 0, proc.stderr.decode()
    assert b"Traceback" not in proc.stderr, proc.stderr.decode()
    assert proc.stderr == b"", proc.stderr.decode()


def _transcript(path: Path) -> None:
    entry = {"type": "assistant", "timestamp": "2026-12-07T10:00:00.000Z", "sessionId": "old",
             "message": {"id": "msg_old", "model": SONNET, "role": "assistant",
                         "usage": {"input_tokens": 1000, "output_tokens": 200},
                         "content": [{"type": "text", "text": "done"}]}}
    path.write_text(json.dumps(entry) + "\n")


@pytest.mark.parametrize("minor", HOOK_PYTHONS)
def test_a_whole_session_is_recorded_by_the_hook_under_an_old_python3(
    minor: str, project: Path, tmp_path: Path
) -> None:
    python = pyenv_python(minor)
    version = subprocess.run([str(python), "-c", "import sys; print(sys.version_info[:2])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert version == f"({minor.replace('.', ', ')})"
    hook = HookRunner(project, tmp_path / "state" / "harness.db", python=python)
    # SessionStart on a new database: the migrations run under the old interpreter too.
    _clean(hook.run("SessionStart", session="old", source="startup", model=SONNET))

    assert hook.pre("Bash", {"command": "ls -l"}, "b1", session="old") is None
    hook.post("Bash", {"command": "ls -l"}, "b1", response={"stdout": "total 0"},
              session="old", duration_ms=4)
    target = str(project / "notes.txt")
    assert hook.pre("Write", {"file_path": target, "content": "hi"}, "w1", session="old") is None
    hook.post("Write", {"file_path": target, "content": "hi"}, "w1", session="old")

    # A capability context, granted from the service layer as `harness capabilities grant` does.
    from dag_harness_mcp.config import load_settings
    from dag_harness_mcp.service.app import HarnessApp
    from dag_harness_mcp.service.capabilities import grant_capabilities

    database = SQLiteStateDB(hook.db_path)
    try:
        app = HarnessApp(settings=load_settings({"repo_root": project, "db_path": hook.db_path},
                                                environ={}), db=database)
        grant_capabilities(app, session_id="old", project_dir=None,
                           file_write=[f"{project}/**"], bash_allow=["ls*"], bash_deny=[],
                           mcp_tools=[], gitlab_write=False, ttl_seconds=600, name="old-py")
        reason = denial(hook.pre("Write", {"file_path": "/etc/hosts", "content": ""}, "w2",
                                 session="old"))
        assert "outside the file_write globs" in reason
        assert sandboxed(hook.pre("Bash", {"command": "ls -a"}, "b2", session="old"))

        _transcript(hook.project / "t.jsonl")
        _clean(hook.run("Stop", session="old", stop_hook_active=False))
        _clean(hook.run("SessionEnd", session="old", reason="prompt_input_exit"))

        session = database.fetchone("SELECT * FROM v_agent_sessions WHERE session_id = 'old'")
        assert session is not None
        assert (session["model"], session["status"], session["cwd"]) == (
            SONNET, "ended", str(project))
        assert (session["tool_calls"], session["denied_calls"], session["file_changes"]) == (
            4, 1, 1)
        calls = database.fetchall("SELECT tool_use_id, status FROM tool_calls ORDER BY id")
        assert [(c["tool_use_id"], c["status"]) for c in calls] == [
            ("b1", "succeeded"), ("w1", "succeeded"), ("w2", "denied"), ("b2", "started")]
        usage = database.fetchone("SELECT input_tokens, output_tokens, cost_usd"
                                  " FROM token_usage WHERE message_id = 'msg_old'")
        assert usage is not None
        assert (usage["input_tokens"], usage["output_tokens"]) == (1000, 200)
        assert usage["cost_usd"] > 0
        migrations = database.fetchall("SELECT version FROM schema_migrations")
        assert len(migrations) >= 1
    finally:
        database.close()
    assert "Traceback" not in hook.log() and "failed open" not in hook.log(), hook.log()


@pytest.mark.parametrize("minor", ["3.9"])
def test_the_hook_migrates_a_released_versions_database_under_python_3_9(
    minor: str, project: Path, tmp_path: Path
) -> None:
    """A StateDB written by 0.1.0 (tests/fixtures/upgrade) is behind: the hook migrates it."""
    db_path = tmp_path / "state" / "harness.db"
    db_path.parent.mkdir()
    shutil.copy2(UPGRADE_FIXTURE / "harness.db", db_path)
    hook = HookRunner(project, db_path, python=pyenv_python(minor))
    _clean(hook.run("SessionStart", session="upgraded", source="startup"))
    assert hook.pre("Read", {"file_path": str(project / "x")}, "r1", session="upgraded") is None
    database = SQLiteStateDB(db_path, migrate=False)
    try:
        applied = {r["version"] for r in database.fetchall("SELECT version FROM schema_migrations")}
        assert applied == {m.version for m in discover()}
        assert database.fetchone("SELECT COUNT(*) AS n FROM workflow_executions") == {"n": 3}
        assert database.fetchone("SELECT status FROM agent_sessions"
                                 " WHERE session_id = 'upgraded'") == {"status": "active"}
    finally:
        database.close()
    assert "Traceback" not in hook.log(), hook.log()


@pytest.mark.parametrize("minor", HOOK_PYTHONS)
def test_the_fail_open_path_logs_without_a_traceback_under_an_old_python3(
    minor: str, project: Path, tmp_path: Path
) -> None:
    hook = HookRunner(project, tmp_path / "state" / "harness.db", python=pyenv_python(minor))
    hook.db_path.parent.mkdir(parents=True)
    hook.db_path.write_bytes(b"this is not a database" * 100)
    proc = hook.run("PostToolUse", tool_name="Bash", tool_input={"command": "ls"},
                    tool_use_id="u", tool_response="ok")
    assert (proc.returncode, proc.stdout) == (0, b"")
    assert b"Traceback" not in proc.stderr
    assert "failed open" in hook.log()


def test_vermin_finds_nothing_newer_than_python_3_9_in_the_hooks_hot_path() -> None:
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("vermin")), "--target=3.9-", "--violations",
         "--no-tips", "--eval-annotations", "--no-parse-comments", *HOT_PATH],
        cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Target versions not met" not in proc.stdout
    assert "Minimum required versions: 3.9" in proc.stdout  # it did analyse the files


def test_a_missing_interpreter_fails_in_ci_and_skips_elsewhere(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path))  # an empty pyenv root
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"pyenv install 3\.9"):
        pyenv_python("3.9")
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match=r"no Python 3\.9 under"):
        pyenv_python("3.9")

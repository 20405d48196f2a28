"""``.harness/`` (StateDB, checkpoints, hook log, worktrees) stays out of the user's ``git status``.

Whoever creates it first, the hook or the CLI/MCP service layer, lists it in the
repository's ``.git/info/exclude``; once, however often they run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dag_harness_mcp.service.example import prepare_example_checkout
from dag_harness_mcp.statedir import EXCLUDE_COMMENT, hide_state_dir
from support.gitsh import git
from support.hookrunner import SCRIPT
from support.interpreters import pyenv_python

HARNESS = Path(sys.executable).with_name("harness")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HARNESS_", "CLAUDE_", "GITLAB_"))}
    env.update(HARNESS_FORGE="local", **extra)
    return env


def _hook(python: str, project: Path, event: str, **fields: object) -> None:
    payload = {"session_id": "s", "cwd": str(project), "hook_event_name": event, **fields}
    done = subprocess.run([python, "-S", str(SCRIPT), event], input=json.dumps(payload).encode(),
                          capture_output=True, env=_env(CLAUDE_PROJECT_DIR=str(project)),
                          timeout=60, check=False)
    assert (done.returncode, done.stderr) == (0, b""), done.stderr.decode()


def _excluded(repo: Path) -> list[str]:
    return (repo / ".git" / "info" / "exclude").read_text().splitlines()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return prepare_example_checkout(tmp_path / "checkout").repo_root


@pytest.mark.parametrize("python", ["3.9", "current"])
def test_the_first_hook_hides_the_state_it_creates_from_git_status(
    repo: Path, python: str
) -> None:
    interpreter = sys.executable if python == "current" else str(pyenv_python(python))
    assert git(repo, "status", "--porcelain") == ""
    _hook(interpreter, repo, "SessionStart", source="startup")
    _hook(interpreter, repo, "PreToolUse", tool_name="Bash", tool_input={"command": "ls"},
          tool_use_id="t1")
    assert (repo / ".harness" / "harness.db").is_file()
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    assert _excluded(repo).count("/.harness/") == 1
    assert EXCLUDE_COMMENT in _excluded(repo)


def test_harness_sync_hides_the_state_dir_once_however_often_it_runs(repo: Path) -> None:
    for _ in range(2):
        done = subprocess.run([str(HARNESS), "--repo", str(repo), "sync"], capture_output=True,
                              text=True, env=_env(), timeout=120, check=False)
        assert done.returncode == 0, done.stderr
    assert (repo / ".harness" / "harness.db").is_file()
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    assert _excluded(repo).count("/.harness/") == 1
    assert git(repo, "check-ignore", ".harness/harness.db") == ".harness/harness.db"


def test_a_state_dir_left_visible_by_an_older_version_is_hidden_on_the_next_open(
    repo: Path
) -> None:
    (repo / ".harness").mkdir()
    (repo / ".harness" / "hooks.log").write_text("old\n")
    assert git(repo, "status", "--porcelain") == "?? .harness/"
    done = subprocess.run([str(HARNESS), "--repo", str(repo), "list-roles"],
                          capture_output=True, text=True, env=_env(), timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""


def test_a_linked_worktree_and_a_subdirectory_use_the_shared_exclude_and_their_own_path(
    repo: Path, tmp_path: Path
) -> None:
    linked = tmp_path / "linked"
    git(repo, "worktree", "add", "-q", str(linked), "-b", "other")
    sub = linked / "ansible" / ".harness"
    sub.mkdir()
    (sub / "x").write_text("")
    assert hide_state_dir(sub) is True
    assert hide_state_dir(sub) is False  # already there
    assert "/ansible/.harness/" in _excluded(repo)  # the common dir's info/exclude
    assert git(linked, "status", "--porcelain", "--untracked-files=all") == ""


def test_only_a_directory_named_harness_inside_a_repository_is_ever_excluded(
    repo: Path, tmp_path: Path
) -> None:
    before = (repo / ".git" / "info" / "exclude").read_text()
    other = repo / "state"
    other.mkdir()
    assert hide_state_dir(other) is False  # a user's HARNESS_DB_PATH dir is theirs to manage
    outside = tmp_path / "nogit" / ".harness"
    outside.mkdir(parents=True)
    assert hide_state_dir(outside) is False
    assert (repo / ".git" / "info" / "exclude").read_text() == before

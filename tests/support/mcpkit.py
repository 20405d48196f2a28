"""Helpers for the MCP tests: a real role repository with an origin, the spawned server's
environment, and reading tool results."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from dag_harness_mcp.service.example import publish_repository
from support.rolerepo import RoleTree

__all__ = [
    "FAST_TESTS", "ROOT", "VENV_BIN", "error_text", "make_role_repo", "server_env", "structured",
]

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"


# Test commands that report one passing pytest case at once (the box-up nodes parse the line);
# the stdio test keeps the real pytest.
FAST_TESTS = {
    "pytest": [sys.executable, "-S", "-c", "print('PASSED tests/test_role.py::test_ok')"],
    "syntax_check": [sys.executable, "-S", "-c", "pass"],
}



def failing_pytest(printed: str = "") -> dict[str, Any]:
    """``tests`` settings whose pytest prints ``printed`` and fails, with no flaky re-run."""
    command = [sys.executable, "-c", f"import sys; print({printed!r}); sys.exit(1)"]
    return {**FAST_TESTS, "pytest": command, "retry_failed_tests": 0}


def make_role_repo(base: Path) -> Path:
    """``base/repo`` (roles common, packages, web → common, monitoring/exporter → common),
    committed on main and pushed to the bare ``base/origin.git``."""
    tree = RoleTree(base / "repo")
    tree.role("common", pytest=True, description="shared base")
    tree.role("packages", pytest=True)
    tree.role("web", deps=["common"], pytest=True)
    tree.role("monitoring/exporter", deps=["common"])
    root = tree.root
    publish_repository(root, base / "origin.git", message="roles")
    return root


def server_env(base: Path, repo: Path) -> dict[str, str]:
    """The environment a spawned server reads its settings from."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HARNESS_", "GITLAB_"))}
    env.update(HARNESS_REPO_ROOT=str(repo), HARNESS_DB_PATH=str(base / "state" / "harness.db"),
               HARNESS_WORKTREE_ROOT=str(base / "worktrees"), HARNESS_FORGE="local",
               GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.org",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.org")
    return env


def structured(result: Any) -> Any:
    """The structured content of a successful tool result."""
    assert not result.is_error, result.content
    return result.structured_content


def error_text(result: Any) -> str:
    assert result.is_error, result.structured_content
    return "".join(getattr(c, "text", "") for c in result.content)

"""Git operations for the workflow, all as asyncio subprocesses (never blocking the loop)."""

from __future__ import annotations

from dag_harness_mcp.git.commit import (
    commit_all,
    head_trailers,
    push_branch,
    remote_branch_sha,
)
from dag_harness_mcp.git.merge import MergeConflictError, merge_into
from dag_harness_mcp.git.run import current_sha, run_git, validate_ref_name
from dag_harness_mcp.git.worktree import ensure_worktree, list_worktrees, remove_worktree

__all__ = [
    "MergeConflictError", "commit_all", "current_sha", "ensure_worktree", "head_trailers",
    "list_worktrees", "merge_into", "push_branch", "remote_branch_sha", "remove_worktree",
    "run_git", "validate_ref_name",
]

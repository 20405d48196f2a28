"""Git operations for the workflow, all as asyncio subprocesses (never blocking the loop)."""

from __future__ import annotations

from dag_harness_mcp.git.commit import CommitResult, commit_all, head_trailer_values
from dag_harness_mcp.git.merge import MergeConflictError, MergeOutcome, merge_into
from dag_harness_mcp.git.remote import PushResult, push_branch, remote_branch_sha
from dag_harness_mcp.git.run import (
    GitResult,
    current_sha,
    resolve_commit,
    run_git,
    validate_ref_name,
)
from dag_harness_mcp.git.worktree import (
    WorktreeEntry,
    WorktreeInfo,
    ensure_worktree,
    list_worktrees,
    remove_worktree,
)

__all__ = [
    "CommitResult", "GitResult", "MergeConflictError", "MergeOutcome", "PushResult",
    "WorktreeEntry", "WorktreeInfo", "commit_all", "current_sha", "ensure_worktree",
    "head_trailer_values", "list_worktrees", "merge_into", "push_branch", "remote_branch_sha",
    "remove_worktree", "resolve_commit", "run_git", "validate_ref_name",
]

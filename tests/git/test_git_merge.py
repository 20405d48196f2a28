"""merge_into: fast-forward, real merge commits, conflicts that leave the target alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from dag_harness_mcp.git import MergeConflictError, merge_into
from support.gitsh import git


def _branch_commit(repo: Path, branch: str, base: str, files: dict[str, str]) -> str:
    git(repo, "switch", "-q", "-C", branch, base)
    for name, text in files.items():
        (repo / name).write_text(text)
    git(repo, "add", "--all")
    git(repo, "commit", "-q", "-m", f"change on {branch}")
    git(repo, "push", "-q", "origin", branch)
    return git(repo, "rev-parse", "HEAD")


async def test_fast_forward_when_target_is_an_ancestor(repo: Path, origin: Path) -> None:
    sha = _branch_commit(repo, "box-up/a", "main", {"a.txt": "a\n"})
    outcome = await merge_into(origin, "main", sha, message="Merge box-up/a")
    assert outcome.fast_forward and not outcome.already_merged
    assert outcome.sha == sha
    assert git(origin, "rev-parse", "refs/heads/main") == sha


async def test_diverged_branches_get_a_merge_commit_with_both_parents(
    repo: Path, origin: Path
) -> None:
    base = git(repo, "rev-parse", "main")
    first = _branch_commit(repo, "box-up/a", "main", {"a.txt": "a\n"})
    second = _branch_commit(repo, "box-up/b", base, {"b.txt": "b\n"})
    await merge_into(origin, "main", first, message="Merge box-up/a")
    outcome = await merge_into(origin, "main", second, message="Merge box-up/b\n\nvia the train")
    assert not outcome.fast_forward
    assert git(origin, "rev-parse", "refs/heads/main") == outcome.sha
    assert git(origin, "log", "-1", "--format=%P", outcome.sha).split() == [first, second]
    assert git(origin, "log", "-1", "--format=%s", outcome.sha) == "Merge box-up/b"
    assert git(origin, "ls-tree", "--name-only", outcome.sha).split() == [
        "README",
        "a.txt",
        "b.txt",
    ]


async def test_merging_again_is_a_no_op(repo: Path, origin: Path) -> None:
    sha = _branch_commit(repo, "box-up/a", "main", {"a.txt": "a\n"})
    await merge_into(origin, "main", sha, message="Merge")
    again = await merge_into(origin, "main", sha, message="Merge")
    assert again.already_merged and again.sha == sha
    assert git(origin, "rev-list", "--count", "main") == "2"


async def test_conflict_raises_and_leaves_the_target_untouched(repo: Path, origin: Path) -> None:
    base = git(repo, "rev-parse", "main")
    first = _branch_commit(repo, "box-up/a", "main", {"README": "from a\n"})
    second = _branch_commit(repo, "box-up/b", base, {"README": "from b\n"})
    await merge_into(origin, "main", first, message="Merge a")
    with pytest.raises(MergeConflictError) as info:
        await merge_into(origin, "main", second, message="Merge b")
    assert info.value.files == ["README"]
    assert "rebase" in str(info.value)
    assert git(origin, "rev-parse", "refs/heads/main") == first
    assert git(origin, "worktree", "list").count("\n") == 0  # no temporary worktree left behind

"""Commits carry a trailer and are made once; pushes skip when done and never force."""

from __future__ import annotations

from pathlib import Path

import pytest

from dag_harness_mcp.errors import GitError, InvalidNameError
from dag_harness_mcp.git import (
    commit_all,
    ensure_worktree,
    head_trailers,
    push_branch,
    remote_branch_sha,
)
from support.gitsh import git

TRAILER = ("Harness-Execution", "thread-42")


async def _worktree(repo: Path, tmp_path: Path, branch: str = "box-up/common") -> Path:
    info = await ensure_worktree(repo, tmp_path / "wt" / "common", branch, "main")
    return info.path


async def test_commit_all_stages_everything_and_adds_the_trailer(
    repo: Path, tmp_path: Path
) -> None:
    wt = await _worktree(repo, tmp_path)
    (wt / "added.txt").write_text("new\n")
    (wt / "README").write_text("changed\n")
    result = await commit_all(wt, "Box up common\n\nBody line.", trailer=TRAILER)
    assert result.created
    assert git(wt, "rev-parse", "HEAD") == result.sha
    assert git(wt, "status", "--porcelain") == ""
    assert git(wt, "show", "--name-only", "--format=", "HEAD").split() == ["README", "added.txt"]
    message = git(wt, "log", "-1", "--format=%B")
    assert message.startswith("Box up common")
    assert message.rstrip().endswith("Harness-Execution: thread-42")


async def test_commit_after_a_crash_that_followed_the_commit_is_not_repeated(
    repo: Path, tmp_path: Path
) -> None:
    wt = await _worktree(repo, tmp_path)
    (wt / "a.txt").write_text("a\n")
    first = await commit_all(wt, "Box up common", trailer=TRAILER)
    # The process "died" here; the resumed node runs commit_all again, maybe with new junk.
    (wt / "b.txt").write_text("b\n")
    second = await commit_all(wt, "Box up common", trailer=TRAILER)
    assert not second.created
    assert second.sha == first.sha
    assert git(wt, "rev-list", "--count", "main..HEAD") == "1"


async def test_another_execution_commits_again(repo: Path, tmp_path: Path) -> None:
    wt = await _worktree(repo, tmp_path)
    first = await commit_all(wt, "one", trailer=TRAILER)
    second = await commit_all(wt, "two", trailer=("Harness-Execution", "thread-43"))
    assert second.created and second.sha != first.sha
    assert await head_trailers(wt, "Harness-Execution") == (second.sha, ["thread-43"])


async def test_nothing_changed_still_records_a_commit(repo: Path, tmp_path: Path) -> None:
    wt = await _worktree(repo, tmp_path)
    result = await commit_all(wt, "no changes", trailer=TRAILER)
    assert result.created
    assert git(wt, "rev-list", "--count", "main..HEAD") == "1"


async def test_commit_without_configured_identity_uses_the_fallback(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty-gitconfig"
    empty.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
        monkeypatch.delenv(var, raising=False)
    wt = await _worktree(repo, tmp_path)
    await commit_all(wt, "who am i", trailer=TRAILER)
    assert git(wt, "log", "-1", "--format=%an <%ae>") == "dag-harness <dag-harness@localhost>"


async def test_message_starting_with_a_dash_is_kept_verbatim(repo: Path, tmp_path: Path) -> None:
    wt = await _worktree(repo, tmp_path)
    await commit_all(wt, "--amend is not an option here", trailer=TRAILER)
    assert git(wt, "log", "-1", "--format=%s") == "--amend is not an option here"


@pytest.mark.parametrize(
    "trailer", [("Bad Key", "x"), ("Harness-Execution", "two\nlines"), ("K", "")]
)
async def test_malformed_trailers_are_rejected(
    repo: Path, tmp_path: Path, trailer: tuple[str, str]
) -> None:
    wt = await _worktree(repo, tmp_path)
    with pytest.raises(InvalidNameError):
        await commit_all(wt, "x", trailer=trailer)


async def test_push_then_push_again_is_skipped(repo: Path, origin: Path, tmp_path: Path) -> None:
    wt = await _worktree(repo, tmp_path)
    commit = await commit_all(wt, "Box up common", trailer=TRAILER)
    assert await remote_branch_sha(wt, "origin", "box-up/common") is None
    first = await push_branch(wt, "origin", "box-up/common")
    assert first.pushed and first.sha == commit.sha
    assert git(origin, "rev-parse", "refs/heads/box-up/common") == commit.sha
    second = await push_branch(wt, "origin", "box-up/common")
    assert not second.pushed and second.sha == commit.sha


async def test_diverged_remote_branch_is_never_overwritten(
    repo: Path, origin: Path, tmp_path: Path
) -> None:
    wt = await _worktree(repo, tmp_path)
    await commit_all(wt, "first", trailer=TRAILER)
    await push_branch(wt, "origin", "box-up/common")
    remote_before = git(origin, "rev-parse", "refs/heads/box-up/common")
    git(wt, "reset", "-q", "--hard", "main")
    await commit_all(wt, "rewritten", trailer=("Harness-Execution", "other"))
    with pytest.raises(GitError, match="never force-pushes"):
        await push_branch(wt, "origin", "box-up/common")
    assert git(origin, "rev-parse", "refs/heads/box-up/common") == remote_before


async def test_remote_lookup_matches_the_exact_branch_only(repo: Path, origin: Path) -> None:
    git(repo, "push", "-q", "origin", "main:refs/heads/x/box-up/common")
    assert await remote_branch_sha(repo, "origin", "box-up/common") is None
    assert await remote_branch_sha(repo, "origin", "x/box-up/common") == git(
        repo, "rev-parse", "main"
    )

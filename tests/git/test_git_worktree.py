"""ensure_worktree is idempotent and recovers a worktree whose directory vanished."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dag_harness_mcp.errors import HarnessError, InvalidNameError
from dag_harness_mcp.git import current_sha, ensure_worktree, list_worktrees, remove_worktree
from support.gitsh import git


async def test_new_worktree_is_created_on_a_new_branch_from_base(
    repo: Path, tmp_path: Path
) -> None:
    path = tmp_path / "wt" / "common"
    info = await ensure_worktree(repo, path, "box-up/common", "main")
    assert info.created
    assert info.branch == "box-up/common"
    assert info.head_sha == git(repo, "rev-parse", "main")
    assert (path / "README").read_text() == "hello\n"
    assert git(path, "branch", "--show-current") == "box-up/common"


async def test_second_call_reuses_the_worktree(repo: Path, tmp_path: Path) -> None:
    path = tmp_path / "wt" / "common"
    await ensure_worktree(repo, path, "box-up/common", "main")
    (path / "work.txt").write_text("in progress\n")
    again = await ensure_worktree(repo, path, "box-up/common", "main")
    assert not again.created
    assert (path / "work.txt").exists()
    assert len([e for e in await list_worktrees(repo) if e.branch == "box-up/common"]) == 1


async def test_deleted_worktree_dir_is_recreated_on_the_existing_branch(
    repo: Path, tmp_path: Path
) -> None:
    path = tmp_path / "wt" / "common"
    await ensure_worktree(repo, path, "box-up/common", "main")
    (path / "new.txt").write_text("x\n")
    git(path, "add", "new.txt")
    git(path, "commit", "-q", "-m", "work on branch")
    branch_sha = await current_sha(path)
    shutil.rmtree(path)

    info = await ensure_worktree(repo, path, "box-up/common", "main")
    assert info.created
    assert info.head_sha == branch_sha  # the existing branch, not a fresh one from main
    assert (path / "new.txt").exists()


async def test_plain_directory_in_the_way_is_refused_untouched(repo: Path, tmp_path: Path) -> None:
    path = tmp_path / "wt" / "common"
    path.mkdir(parents=True)
    (path / "mine.txt").write_text("keep me\n")
    with pytest.raises(HarnessError, match="not a git worktree"):
        await ensure_worktree(repo, path, "box-up/common", "main")
    assert (path / "mine.txt").read_text() == "keep me\n"


async def test_worktree_on_another_branch_is_refused(repo: Path, tmp_path: Path) -> None:
    path = tmp_path / "wt" / "x"
    await ensure_worktree(repo, path, "box-up/a", "main")
    with pytest.raises(HarnessError, match="is on branch box-up/a"):
        await ensure_worktree(repo, path, "box-up/b", "main")


async def test_branch_checked_out_elsewhere_is_refused(repo: Path, tmp_path: Path) -> None:
    await ensure_worktree(repo, tmp_path / "wt" / "one", "box-up/a", "main")
    with pytest.raises(HarnessError, match="already checked out"):
        await ensure_worktree(repo, tmp_path / "wt" / "two", "box-up/a", "main")


async def test_paths_with_spaces_and_unicode_and_dashes_work(repo: Path, tmp_path: Path) -> None:
    path = tmp_path / "-wt dir" / "rôle ünïcode"
    info = await ensure_worktree(repo, path, "box-up/monitoring--exporters-0a1b2c3d", "main")
    assert info.created
    assert (path / "README").exists()
    assert await remove_worktree(repo, path)
    assert not path.exists()


async def test_option_like_branch_and_unknown_base_are_rejected(repo: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidNameError):
        await ensure_worktree(repo, tmp_path / "wt", "--orphan", "main")
    with pytest.raises(HarnessError, match="not a commit"):
        await ensure_worktree(repo, tmp_path / "wt", "box-up/x", "--all")
    assert not (tmp_path / "wt").exists()


async def test_remove_worktree_keeps_the_branch_and_is_idempotent(
    repo: Path, tmp_path: Path
) -> None:
    path = tmp_path / "wt" / "common"
    await ensure_worktree(repo, path, "box-up/common", "main")
    (path / "dirty.txt").write_text("uncommitted\n")
    assert await remove_worktree(repo, path)
    assert not await remove_worktree(repo, path)
    assert not path.exists()
    assert git(repo, "branch", "--list", "box-up/common").strip().endswith("box-up/common")


async def test_worktrees_created_at_once_in_other_processes_all_succeed(
    repo: Path, tmp_path: Path
) -> None:
    """A `git worktree prune` racing a `git worktree add` once broke the add ("failed to
    read .git/worktrees/<name>/commondir"); creation is serialised per repository."""
    import subprocess
    import sys

    script = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from dag_harness_mcp.git import ensure_worktree\n"
        "repo, root, name = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]\n"
        "asyncio.run(ensure_worktree(repo, root / name, 'box-up/' + name, 'main'))\n"
    )
    names = [f"r{i}" for i in range(8)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(repo), str(tmp_path / "wt"), name],
            stderr=subprocess.PIPE, text=True,
        )
        for name in names
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * len(names), errors
    branches = {e.branch for e in await list_worktrees(repo)}
    assert {f"box-up/{n}" for n in names} <= branches

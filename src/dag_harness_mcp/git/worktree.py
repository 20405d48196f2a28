"""Worktrees: created once, reused on every later call, recovered when their directory vanished."""

from __future__ import annotations

import os
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path

from dag_harness_mcp.errors import HarnessError
from dag_harness_mcp.git.run import current_sha, resolve_commit, run_git, validate_ref_name

__all__ = ["WorktreeEntry", "WorktreeInfo", "ensure_worktree", "list_worktrees",
           "remove_worktree"]


@dataclass(frozen=True)
class WorktreeInfo:
    """A worktree ready for work; ``created`` is False when an existing one was reused."""

    path: Path
    branch: str
    head_sha: str
    created: bool


@dataclass(frozen=True)
class WorktreeEntry:
    """One entry of ``git worktree list``; ``branch`` is None when detached or bare."""

    path: Path
    branch: str | None


async def list_worktrees(repo: Path) -> list[WorktreeEntry]:
    """Every worktree registered in ``repo`` (the main one first)."""
    result = await run_git(["worktree", "list", "--porcelain", "-z"], repo)
    entries: list[WorktreeEntry] = []
    fields: dict[str, str] = {}
    for item in [*result.stdout.split("\0"), ""]:
        if item:
            key, _, value = item.partition(" ")
            fields[key] = value
            continue
        if "worktree" in fields:
            branch = fields.get("branch")
            entries.append(WorktreeEntry(
                Path(fields["worktree"]), branch.removeprefix("refs/heads/") if branch else None
            ))
        fields = {}
    return entries


def _same(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()


def _absolute(path: Path) -> Path:
    return Path(os.path.abspath(path))


def _is_dir(path: Path) -> bool:
    return path.is_dir()


def _occupied(path: Path) -> bool:
    """Something other than an empty directory is at ``path``."""
    return path.exists() and (not path.is_dir() or any(path.iterdir()))


async def _reused(path: Path, branch: str) -> WorktreeInfo:
    return WorktreeInfo(path=path, branch=branch, head_sha=await current_sha(path), created=False)


async def ensure_worktree(repo: Path, path: Path, branch: str, base_ref: str) -> WorktreeInfo:
    """A worktree of ``repo`` at ``path`` on ``branch``, created from ``base_ref`` if new.

    An existing worktree at ``path`` on ``branch`` is reused; a branch whose worktree
    directory was deleted is re-attached at ``path``. A directory at ``path`` that is not
    a worktree of ``repo``, or a worktree there on another branch, is an error, never
    overwritten.
    """
    validate_ref_name(branch)
    path = _absolute(path)
    for entry in await list_worktrees(repo):
        if not _same(entry.path, path):
            continue
        if not path.exists():
            break  # registered but gone: pruned below, then re-added
        if entry.branch != branch:
            raise HarnessError(
                f"worktree {path} is on branch {entry.branch or '(detached)'}, not {branch}; "
                f"remove it with `git worktree remove {path}` or choose another worktree root"
            )
        return await _reused(path, branch)

    async with await _worktree_lock(repo):
        return await _create_worktree(repo, path, branch, base_ref)


async def _worktree_lock(repo: Path) -> AbstractAsyncContextManager[None]:
    """Serialise worktree creation in ``repo`` across processes and tasks: a concurrent
    ``git worktree prune`` deletes the half-written entry of a ``git worktree add``."""
    from dag_harness_mcp.filelock import exclusive

    common = (await run_git(["rev-parse", "--git-common-dir"], repo)).stdout.strip()
    return exclusive((repo / common).resolve() / "harness-worktree.lock")


async def _create_worktree(repo: Path, path: Path, branch: str, base_ref: str) -> WorktreeInfo:
    for entry in await list_worktrees(repo):
        if _same(entry.path, path) and entry.branch == branch and _is_dir(path):
            return await _reused(path, branch)  # made by another process while we waited
    await run_git(["worktree", "prune"], repo)
    if _occupied(path):
        raise HarnessError(
            f"{path} exists but is not a git worktree of {repo}; move it away or choose another "
            "worktree root (HARNESS_WORKTREE_ROOT)"
        )
    for entry in await list_worktrees(repo):
        if entry.branch == branch:
            raise HarnessError(
                f"branch {branch} is already checked out at {entry.path}; remove that worktree "
                f"(`git worktree remove {entry.path}`) or use it"
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    exists = await run_git(
        ["show-ref", "--verify", "--quiet", f"refs/heads/{branch}"], repo, check=False
    )
    if exists.ok:
        await run_git(["worktree", "add", "--", str(path), branch], repo)
        head = await current_sha(path)
    else:
        head = await resolve_commit(repo, base_ref)
        await run_git(["worktree", "add", "-b", branch, "--", str(path), head], repo)
    return WorktreeInfo(path=path, branch=branch, head_sha=head, created=True)


async def remove_worktree(repo: Path, path: Path) -> bool:
    """Remove the worktree at ``path`` (discarding uncommitted changes; the branch stays);
    False when none was registered there. Stale registrations are pruned either way."""
    path = _absolute(path)
    removed = False
    for entry in await list_worktrees(repo):
        if _same(entry.path, path) and path.exists():
            await run_git(["worktree", "remove", "--force", "--force", "--", str(path)], repo)
            removed = True
            break
    await run_git(["worktree", "prune"], repo)
    return removed

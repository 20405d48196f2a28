"""Pushes that skip when the remote already has the commit, and never force."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dag_harness_mcp.errors import GitError
from dag_harness_mcp.git.run import resolve_commit, run_git, validate_ref_name

__all__ = ["PushResult", "push_branch", "remote_branch_sha"]


@dataclass(frozen=True)
class PushResult:
    """The sha the remote branch now has; ``pushed`` is False when it had it already."""

    sha: str
    pushed: bool


async def remote_branch_sha(
    repo: Path, remote: str, branch: str, *, timeout: float = 60.0  # noqa: ASYNC109
) -> str | None:
    """The sha of ``refs/heads/<branch>`` on ``remote`` (asked over the wire), or None."""
    validate_ref_name(remote, "remote")
    ref = f"refs/heads/{validate_ref_name(branch)}"
    result = await run_git(["ls-remote", "--refs", "--", remote, ref], repo, timeout=timeout)
    for line in result.stdout.splitlines():
        sha, _, name = line.partition("\t")
        if name == ref:
            return sha
    return None


async def push_branch(
    worktree: Path, remote: str, branch: str, *, timeout: float = 120.0  # noqa: ASYNC109
) -> PushResult:
    """Push local ``branch`` to the same name on ``remote``, unless it is there already.

    Never forces: a remote branch that moved elsewhere makes this fail with
    :class:`GitError` naming both shas, and the remote is left as it was.
    """
    ref = f"refs/heads/{validate_ref_name(branch)}"
    local = await resolve_commit(worktree, ref)
    remote_sha = await remote_branch_sha(worktree, remote, branch, timeout=timeout)
    if remote_sha == local:
        return PushResult(sha=local, pushed=False)
    result = await run_git(["push", "--porcelain", "--", remote, f"{ref}:{ref}"], worktree,
                           timeout=timeout, check=False)
    if not result.ok:
        hint = (
            f"remote {remote} has {branch} at {remote_sha}, which is not an ancestor of {local}; "
            "the harness never force-pushes: reconcile the branch by hand"
            if remote_sha is not None
            else f"check that remote {remote!r} exists and accepts pushes"
        )
        raise GitError(result.args, result.returncode, f"{result.stderr.strip()}\n{hint}")
    return PushResult(sha=local, pushed=True)

"""Commits that carry an execution trailer, so a resumed run never commits twice, and
pushes that never force."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from dag_harness_mcp.errors import GitError, InvalidNameError
from dag_harness_mcp.git.run import current_sha, resolve_commit, run_git, validate_ref_name

__all__ = ["CommitResult", "PushResult", "commit_all", "head_trailers", "identity_args",
           "push_branch", "remote_branch_sha"]

FALLBACK_IDENTITY = ("dag-harness", "dag-harness@localhost")
_TRAILER_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*\Z")
_PUSH_TIMEOUT = 120.0  # seconds for asking the remote and for pushing


@dataclass(frozen=True)
class CommitResult:
    """The commit that carries the trailer; ``created`` is False when HEAD already had it."""

    sha: str
    created: bool


async def identity_args(repo: Path) -> list[str]:
    """``-c user.name=... -c user.email=...`` for what git has no configuration of."""
    found = await run_git(["config", "--get-regexp", r"^user\.(name|email)$"], repo, check=False)
    lines = (line.partition(" ") for line in found.stdout.splitlines())
    configured = {key: value for key, _, value in lines}  # the last value wins, as in git
    args: list[str] = []
    for key, fallback in zip(("user.name", "user.email"), FALLBACK_IDENTITY, strict=True):
        if not configured.get(key, "").strip():
            args += ["-c", f"{key}={fallback}"]
    return args


async def head_trailers(worktree: Path, key: str) -> tuple[str | None, list[str]]:
    """HEAD's sha and the values of trailer ``key`` on its message; ``(None, [])`` on an
    unborn branch."""
    result = await run_git(["log", "-1", "--ignore-missing",
                            f"--format=%H%x00%(trailers:key={key},valueonly,unfold)", "HEAD"],
                           worktree)
    sha, _, values = result.stdout.partition("\x00")
    return sha.strip() or None, [line.strip() for line in values.splitlines() if line.strip()]


async def commit_all(worktree: Path, message: str, *, trailer: tuple[str, str]) -> CommitResult:
    """Stage everything in ``worktree`` and commit it with ``trailer`` (``Key: value``).

    If HEAD already carries exactly this trailer (committed before a crash), nothing is
    committed and ``created`` is False. The commit is made even when nothing changed
    (the trailer is the record of the run); a missing identity falls back to dag-harness.
    """
    key, value = trailer
    if not _TRAILER_KEY.match(key):
        raise InvalidNameError(
            f"trailer key {key!r} must be letters, digits and '-', e.g. 'Harness-Execution'"
        )
    if not value or value != value.strip() or any(c in value for c in "\r\n"):
        raise InvalidNameError(
            f"trailer value {value!r} must be one non-empty line without outer spaces"
        )
    head, values = await head_trailers(worktree, key)
    if head is not None and value in values:
        return CommitResult(sha=head, created=False)
    await run_git(["add", "--all", "--", "."], worktree)
    await run_git(
        [*await identity_args(worktree), "commit", "--quiet", "--allow-empty", "--cleanup=strip",
         f"--trailer={key}: {value}", "--file=-"],
        worktree, input_text=message.rstrip("\n") + "\n",
    )
    return CommitResult(sha=await current_sha(worktree), created=True)


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


async def push_branch(worktree: Path, remote: str, branch: str) -> PushResult:
    """Push local ``branch`` to the same name on ``remote``; ``pushed`` is False when the
    remote had it already (git's porcelain says ``=``: up to date).

    Never forces: a remote branch that moved elsewhere makes this fail with
    :class:`GitError` naming both shas, and the remote is left as it was.
    """
    validate_ref_name(remote, "remote")
    ref = f"refs/heads/{validate_ref_name(branch)}"
    local = await resolve_commit(worktree, ref)
    result = await run_git(["push", "--porcelain", "--", remote, f"{ref}:{ref}"], worktree,
                           timeout=_PUSH_TIMEOUT, check=False)
    if result.ok:
        flags = {line[0] for line in result.stdout.splitlines() if line[1:2] == "\t"}
        return PushResult(sha=local, pushed=flags != {"="})
    remote_sha = await remote_branch_sha(worktree, remote, branch, timeout=_PUSH_TIMEOUT)
    hint = (
        f"remote {remote} has {branch} at {remote_sha}, which is not an ancestor of {local}; "
        "the harness never force-pushes: reconcile the branch by hand"
        if remote_sha is not None
        else f"check that remote {remote!r} exists and accepts pushes"
    )
    raise GitError(result.args, result.returncode, f"{result.stderr.strip()}\n{hint}")

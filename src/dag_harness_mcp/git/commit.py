"""Commits that carry an execution trailer, so a resumed run never commits twice."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from dag_harness_mcp.errors import InvalidNameError
from dag_harness_mcp.git.run import current_sha, run_git

__all__ = ["CommitResult", "commit_all", "head_trailer_values", "identity_args"]

FALLBACK_IDENTITY = ("dag-harness", "dag-harness@localhost")
_TRAILER_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*\Z")


@dataclass(frozen=True)
class CommitResult:
    """The commit that carries the trailer; ``created`` is False when HEAD already had it."""

    sha: str
    created: bool


async def identity_args(repo: Path) -> list[str]:
    """``-c user.name=... -c user.email=...`` for what git has no configuration of."""
    args: list[str] = []
    for key, fallback in zip(("user.name", "user.email"), FALLBACK_IDENTITY, strict=True):
        found = await run_git(["config", "--get", key], repo, check=False)
        if not found.stdout.strip():
            args += ["-c", f"{key}={fallback}"]
    return args


async def head_trailer_values(worktree: Path, key: str) -> list[str]:
    """The values of trailer ``key`` on HEAD's message; empty on an unborn branch."""
    head = await run_git(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], worktree,
                         check=False)
    if not head.ok:
        return []
    result = await run_git(
        ["log", "-1", f"--format=%(trailers:key={key},valueonly,unfold)", "HEAD"], worktree
    )
    return [line.strip() for line in result.stdout.splitlines() if line.strip()]


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
    if value in await head_trailer_values(worktree, key):
        return CommitResult(sha=await current_sha(worktree), created=False)
    await run_git(["add", "--all", "--", "."], worktree)
    await run_git(
        [*await identity_args(worktree), "commit", "--quiet", "--allow-empty", "--cleanup=strip",
         f"--trailer={key}: {value}", "--file=-"],
        worktree, input_text=message.rstrip("\n") + "\n",
    )
    return CommitResult(sha=await current_sha(worktree), created=True)

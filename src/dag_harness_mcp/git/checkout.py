"""The user's own checkout, read and (only by fast-forward) updated around box-ups.

Synchronous, so ``harness sync`` calls it directly (async callers use a thread); it
returns findings, and the service decides whether one refuses, warns or is a note.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from dag_harness_mcp.git.run import GIT_ENV

__all__ = ["FastForward", "fast_forward_default_branch", "is_git_repository",
           "repository_problems", "uncommitted_changes"]


def _git(root: Path, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", *args], cwd=root, env={**os.environ, **GIT_ENV}, capture_output=True,
            text=True, timeout=timeout, check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return subprocess.CompletedProcess(["git", *args], 127, "", str(exc))


def is_git_repository(root: Path) -> bool:
    return _git(root, "rev-parse", "--show-toplevel").returncode == 0


def repository_problems(root: Path, *, default_branch: str, remote: str) -> list[str]:
    """What box-up will need and ``root`` lacks: a repository (the only entry, starting
    ``"not a git repository"``), the default branch, the remote."""
    if not is_git_repository(root):
        return [
            f"not a git repository: {root}. Box-up works in git worktrees and pushes "
            f"branches: run `git init -b {default_branch}` there, commit the roles, and add "
            f"the remote (`git remote add {remote} URL`)"
        ]
    problems: list[str] = []
    if _git(root, "rev-parse", "--verify", "--quiet", f"refs/heads/{default_branch}^{{commit}}"
            ).returncode != 0:
        problems.append(
            f"branch {default_branch!r} has no commit in {root}: box-up branches every role "
            f"from it; commit the roles on it (or set default_branch in harness.yml)"
        )
    if _git(root, "remote", "get-url", remote).returncode != 0:
        problems.append(
            f"no remote {remote!r} in {root}: box-up pushes each role's branch there; add it "
            f"with `git remote add {remote} URL` (a bare repository works for the local forge)"
        )
    return problems


def uncommitted_changes(root: Path, path: str) -> list[str]:
    """``git status`` of ``path`` (relative to ``root``): ``["M tasks/main.yml", ...]``,
    paths relative to ``path``; empty when clean or when ``root`` is no repository."""
    done = _git(root, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--", path)
    if done.returncode != 0:
        return []
    prefix = path.rstrip("/") + "/"
    changes: list[str] = []
    entries = iter(done.stdout.split("\0"))
    for entry in entries:
        if len(entry) < 4:
            continue
        code, name = entry[:2].strip(), entry[3:]
        if code.startswith(("R", "C")):
            next(entries, None)  # the rename's source path
        changes.append(f"{code} {name[len(prefix):] if name.startswith(prefix) else name}")
    return changes


@dataclass(frozen=True)
class FastForward:
    """What :func:`fast_forward_default_branch` did: ``moved`` to ``sha``, or why not."""

    moved: bool
    sha: str = ""
    behind: int = 0
    reason: str = ""


def fast_forward_default_branch(root: Path, *, default_branch: str, remote: str) -> FastForward:
    """Bring the checkout's ``default_branch`` up to ``remote``'s, only by fast-forward:
    ``git merge --ff-only`` when checked out and clean, else ``git fetch remote
    branch:branch``. Local commits or edits in the way: nothing moves, ``reason`` says so."""
    if _git(root, "fetch", "--quiet", remote, default_branch).returncode != 0:
        return FastForward(False, reason=f"could not fetch {remote}/{default_branch}")
    remote_sha = _git(root, "rev-parse", "FETCH_HEAD").stdout.strip()
    local_sha = _git(root, "rev-parse", f"refs/heads/{default_branch}").stdout.strip()
    if not remote_sha or remote_sha == local_sha:
        return FastForward(False, sha=local_sha)
    behind_out = _git(root, "rev-list", "--count", f"{local_sha}..{remote_sha}").stdout.strip()
    behind = int(behind_out) if behind_out.isdigit() else 0
    if _git(root, "merge-base", "--is-ancestor", local_sha, remote_sha).returncode != 0:
        return FastForward(False, behind=behind, reason="it has commits that are not on "
                           f"{remote}/{default_branch}")
    current = _git(root, "symbolic-ref", "--quiet", "--short", "HEAD").stdout.strip()
    if current == default_branch:
        dirty = _git(root, "status", "--porcelain", "--untracked-files=no").stdout.strip()
        if dirty:
            return FastForward(False, behind=behind, reason="it has uncommitted changes")
        moved = _git(root, "merge", "--ff-only", "--quiet", remote_sha)
    else:
        moved = _git(root, "fetch", "--quiet", remote, f"{default_branch}:{default_branch}")
    if moved.returncode != 0:
        return FastForward(False, behind=behind,
                           reason=(moved.stderr.strip().splitlines() or ["git refused"])[-1])
    return FastForward(True, sha=remote_sha, behind=behind)

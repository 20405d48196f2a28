"""Run git as an asyncio subprocess, and the ref questions every git module asks.

Each git runs in its own process group, so a timeout or a cancelled task kills git and
whatever it started (hooks, ssh, credential helpers) instead of leaving orphans.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
from dataclasses import dataclass
from pathlib import Path

from dag_harness_mcp.errors import GitError, InvalidNameError

__all__ = ["GIT_ENV", "GitResult", "current_sha", "has_commit", "is_ancestor", "resolve_commit",
           "run_git", "validate_ref_name"]

# The environment every git call gets: no prompts, stable (English) messages.
GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "LANGUAGE": "C", "GIT_EDITOR": "true"}
_BAD_REF = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")


@dataclass(frozen=True)
class GitResult:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def validate_ref_name(name: str, what: str = "branch") -> str:
    """``name`` if git accepts it as a branch or remote name (``git check-ref-format
    --branch``, without a subprocess) and it cannot pass for an option (no leading ``-``)."""
    problem = None
    if not name:
        problem = "is empty"
    elif name.startswith("-"):
        problem = "starts with '-'"
    elif _BAD_REF.search(name):
        problem = "contains a space, control character or one of ~^:?*[\\"
    elif ".." in name or "@{" in name or "//" in name or name == "@":
        problem = "contains '..', '@{' or '//'"
    elif name.startswith("/") or name.endswith(("/", ".", ".lock")):
        problem = "starts with '/' or ends with '/', '.' or '.lock'"
    elif any(part.startswith(".") for part in name.split("/")):
        problem = "has a path segment starting with '.'"
    if problem is not None:
        raise InvalidNameError(
            f"{what} name {name!r} {problem}; use letters, digits, '/', '-', '_' and '.'"
        )
    return name


async def _kill(proc: asyncio.subprocess.Process) -> None:
    """Kill the process group of ``proc`` and reap it."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
    with contextlib.suppress(ProcessLookupError):
        await proc.wait()


async def run_git(
    args: list[str],
    cwd: Path,
    *,
    timeout: float = 120.0,  # noqa: ASYNC109 - git gets killed, not just abandoned
    check: bool = True,
    input_text: str | None = None,
) -> GitResult:
    """Run ``git <args>`` in ``cwd``, ``input_text`` on its stdin.

    Raises :class:`GitError` when git exits non-zero (unless ``check=False``), runs
    longer than ``timeout`` seconds (its process group is killed, returncode -9), or is
    not installed. Cancelling the awaiting task kills git too.
    """
    try:
        proc = await asyncio.create_subprocess_exec(
            "git", *args, cwd=str(cwd), env={**os.environ, **GIT_ENV},
            stdin=asyncio.subprocess.PIPE if input_text is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
    except FileNotFoundError as exc:
        raise GitError(
            args, 127, f"cannot run git in {cwd}: {exc}; install git or check the path"
        ) from exc
    data = input_text.encode("utf-8") if input_text is not None else None
    try:
        async with asyncio.timeout(timeout):  # no extra task per call, unlike wait_for
            out, err = await proc.communicate(data)
    except TimeoutError:
        await asyncio.shield(_kill(proc))
        raise GitError(
            args, -9,
            f"timed out after {timeout:g}s and was killed; raise the timeout or check {cwd}",
        ) from None
    except BaseException:
        await asyncio.shield(_kill(proc))
        raise
    result = GitResult(
        args=list(args),
        returncode=proc.returncode if proc.returncode is not None else -1,
        stdout=out.decode("utf-8", "replace"),
        stderr=err.decode("utf-8", "replace"),
    )
    if check and not result.ok:
        raise GitError(result.args, result.returncode, result.stderr or result.stdout)
    return result


async def current_sha(path: Path) -> str:
    """The commit HEAD points at in the repository or worktree at ``path``."""
    return (await run_git(["rev-parse", "--verify", "HEAD^{commit}"], path)).stdout.strip()


async def resolve_commit(repo: Path, ref: str) -> str:
    """The full sha of commit-ish ``ref`` in ``repo``; refs are never read as options."""
    result = await run_git(
        ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"],
        repo, check=False,
    )
    sha = result.stdout.strip()
    if not result.ok or not sha:
        raise GitError(["rev-parse", ref], result.returncode,
                       f"{ref!r} is not a commit in {repo}; fetch it or check the name")
    return sha


async def is_ancestor(repo: Path, ancestor: str, descendant: str) -> bool:
    result = await run_git(["merge-base", "--is-ancestor", ancestor, descendant], repo, check=False)
    if result.returncode not in (0, 1):
        raise GitError(result.args, result.returncode, result.stderr)
    return result.returncode == 0


async def has_commit(repo: Path, sha: str) -> bool:
    return (await run_git(["cat-file", "-e", f"{sha}^{{commit}}"], repo, check=False)).ok

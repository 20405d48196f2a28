"""Bring a role's branch, left by an earlier run, up to the current default branch:
recreated, rebased (commits no box-up run made), merged into (pushed, never rewritten) or
kept, with uncommitted changes stashed; docs/box-up.md has the table. A conflicting
rebase or merge is aborted and raises :class:`GitError` naming the way out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dag_harness_mcp.errors import GitError
from dag_harness_mcp.git.commit import head_trailers, identity_args, remote_branch_sha
from dag_harness_mcp.git.run import current_sha, has_commit, is_ancestor, resolve_commit, run_git

__all__ = ["Base", "BranchStart", "pick_base", "refresh_branch"]

_ASK_TIMEOUT = 30.0  # seconds for asking the remote about a branch


@dataclass(frozen=True)
class Base:
    """Where a new run starts: ``sha``, named ``name`` (``main``, or ``origin/main`` when the
    local branch is only behind the remote's); ``remote_sha``: the remote's head, if known."""

    sha: str
    name: str
    remote_sha: str | None


async def pick_base(repo: Path, remote: str, default_branch: str) -> Base:
    """The local default branch, or the remote's when the local one is only behind it
    (e.g. the local forge's merge train moved origin's ``main``): never older than both."""
    local = await resolve_commit(repo, default_branch)
    try:
        theirs = await remote_branch_sha(repo, remote, default_branch, timeout=_ASK_TIMEOUT)
        if theirs is not None and not await has_commit(repo, theirs):
            await run_git(["fetch", "--quiet", "--", remote, f"refs/heads/{default_branch}"],
                          repo, timeout=_ASK_TIMEOUT)
    except GitError:
        return Base(local, default_branch, None)
    if theirs is not None and theirs != local and await is_ancestor(repo, local, theirs):
        return Base(theirs, f"{remote}/{default_branch}", theirs)
    return Base(local, default_branch, theirs)


@dataclass(frozen=True)
class BranchStart:
    """The branch's head after :func:`refresh_branch`, and what was done, in a sentence."""

    head_sha: str
    note: str


async def _remote_head(worktree: Path, remote: str, branch: str) -> str | None:
    """The branch's head on the remote (fetched when this clone lacks the commit); the
    remote-tracking ref when the remote cannot be asked."""
    try:
        sha = await remote_branch_sha(worktree, remote, branch, timeout=_ASK_TIMEOUT)
    except GitError:
        tracking = await run_git(
            ["rev-parse", "--verify", "--quiet", f"refs/remotes/{remote}/{branch}"],
            worktree, check=False,
        )
        return tracking.stdout.strip() or None
    if sha is not None and not await has_commit(worktree, sha):
        await run_git(["fetch", "--quiet", "--", remote, f"refs/heads/{branch}"], worktree)
    return sha


async def _stash(worktree: Path, branch: str) -> str:
    """Stash uncommitted (and untracked) changes; what to add to the note about it."""
    status = await run_git(["status", "--porcelain", "--untracked-files=all"], worktree)
    if not status.stdout.strip():
        return ""
    await run_git(
        [*await identity_args(worktree), "stash", "push", "--include-untracked", "--quiet",
         "--message", f"dag-harness: {branch} left by an earlier run"],
        worktree,
    )
    return (f"; uncommitted changes left in the worktree were stashed "
            f"(`git stash list`: 'dag-harness: {branch} ...')")


async def _foreign_commits(worktree: Path, base: str, trailer_key: str) -> int:
    """How many commits on HEAD, not in ``base``, no box-up run made (no ``trailer_key``)."""
    listed = await run_git(
        ["log", "--format=%H%x00%(trailers:key=" + trailer_key + ",valueonly)%x01",
         f"{base}..HEAD"],
        worktree,
    )
    records = (record.strip().partition("\x00") for record in listed.stdout.split("\x01"))
    return sum(1 for sha, _, trailer in records if sha and not trailer.strip())


async def _or_abort(worktree: Path, args: list[str], advice: str) -> None:
    """Run ``git rebase``/``git merge`` ``args``; on a failure abort it and raise GitError
    with git's last words and ``advice``."""
    done = await run_git([*await identity_args(worktree), *args], worktree, check=False)
    if not done.ok:
        await run_git([args[0], "--abort"], worktree, check=False)
        raise GitError(done.args, done.returncode, f"{done.stderr.strip()[-300:]}\n{advice}")


async def refresh_branch(
    worktree: Path, branch: str, base: Base, *, remote: str, trailer: tuple[str, str]
) -> BranchStart:
    """Make the branch checked out in ``worktree`` start from ``base`` for a new run
    (see the module docstring). ``trailer`` is this run's ``(key, value)``."""
    key, value = trailer
    base_sha, base_name = base.sha, base.name
    head, values = await head_trailers(worktree, key)
    if head is None:
        head = await current_sha(worktree)  # unborn: raises the GitError that says so
    short = base_sha[:12]
    if value in values:
        return BranchStart(head, f"branch {branch} kept: it holds this run's commit")
    pushed = await _remote_head(worktree, remote, branch)
    if pushed is not None and not await is_ancestor(worktree, pushed, base_sha):
        merged = base.remote_sha is not None and await is_ancestor(
            worktree, pushed, base.remote_sha)
        return await _merge_base_into(
            worktree, branch, base, pushed, head,
            how=f"and merged into {remote}'s {base_name}, which {base_name} lacks (`git pull`)"
            if merged else "but never merged")
    if head == base_sha:
        stashed = await _stash(worktree, branch)
        if stashed:
            await run_git(["reset", "--quiet", "--hard", base_sha], worktree)
        return BranchStart(head, f"branch {branch} is at {base_name} ({short}){stashed}")
    foreign = await _foreign_commits(worktree, base_sha, key)
    stashed = await _stash(worktree, branch)
    if not foreign:
        await run_git(["reset", "--quiet", "--hard", base_sha], worktree)
        return BranchStart(base_sha, (
            f"branch {branch} recreated from {base_name} ({short}): the earlier run's commit "
            f"{head[:12]} was {'merged' if pushed else 'never pushed'}{stashed}"))
    await _or_abort(worktree, ["rebase", "--quiet", base_sha], (
        f"branch {branch} holds {foreign} commit(s) of your own that do not rebase onto "
        f"{base_name} ({short}); rebase it by hand in {worktree}, or delete it (`git branch "
        f"-D {branch}` after removing the worktree), then box up again"))
    return BranchStart(await current_sha(worktree), (
        f"branch {branch} rebased onto {base_name} ({short}), keeping {foreign} commit(s) "
        f"that no box-up run made{stashed}"))


async def _merge_base_into(
    worktree: Path, branch: str, base: Base, pushed: str, head: str, *, how: str
) -> BranchStart:
    """The branch is published and not in the base: merge the base into it (never rewrite
    it). ``how`` says how it got out (never merged, or merged only on the remote)."""
    base_sha, base_name = base.sha, base.name
    stashed = await _stash(worktree, branch)
    if not await is_ancestor(worktree, pushed, head):
        # the local branch lost the pushed commit (reset elsewhere): start from the remote's
        await run_git(["reset", "--quiet", "--hard", pushed], worktree)
    await _or_abort(worktree, [
        "merge", "--quiet", "--no-edit", "-m",
        f"Merge {base_name} into {branch} for a new box-up run", base_sha,
    ], (
        f"branch {branch} was pushed ({pushed[:12]}) but never merged, and {base_name} "
        f"({base_sha[:12]}) does not merge into it cleanly; merge {base_name} into it by hand "
        f"in {worktree} and push, or close its merge request and delete the branch (`git push "
        f"<remote> --delete {branch}`), then box up again"))
    return BranchStart(await current_sha(worktree), (
        f"branch {branch} was pushed ({pushed[:12]}) {how}: {base_name} ({base_sha[:12]}) "
        f"merged into it, the pushed history kept (never force-pushed){stashed}"))

"""Bring a role's branch, left by an earlier run, up to the current default branch.

A new run must test the role as it is on the default branch now, not as it was
when an earlier run made the branch. What happens to the old branch depends on
what of it got out:

- **nothing pushed, or all of it merged** (the remote has no such branch, or its
  head is already in the base): the branch is **recreated** at the base — unless
  it holds commits that are not box-up commits (someone's own work, found by the
  missing ``Harness-Execution`` trailer): those are **rebased** onto the base;
- **pushed but not merged** (the remote branch's head is not in the base): the
  branch is published, a merge request may show it, and the harness never
  rewrites or force-pushes it; the base is **merged into it** instead, so the next
  push fast-forwards the remote branch and the open merge request follows;
- the branch's head already carries this run's trailer (the run is resumed after
  its commit): it is **kept** as it is.

Uncommitted changes an earlier run left in the worktree are stashed (``git stash
list`` shows them, labelled with the branch), never lost. A rebase or merge that
conflicts is aborted, leaving the branch as it was, and raises :class:`GitError`
naming the way out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dag_harness_mcp.errors import GitError
from dag_harness_mcp.git.commit import head_trailer_values, identity_args
from dag_harness_mcp.git.remote import remote_branch_sha
from dag_harness_mcp.git.run import run_git
from dag_harness_mcp.git.worktree import current_sha

__all__ = ["Base", "BranchStart", "pick_base", "refresh_branch"]

_ASK_TIMEOUT = 30.0  # seconds for asking the remote about a branch


@dataclass(frozen=True)
class Base:
    """Where a new run starts: ``sha``, named ``name`` (``main``, or ``origin/main`` when
    the local default branch is behind the remote's); ``remote_sha`` is the remote's
    default branch head, when it could be asked."""

    sha: str
    name: str
    remote_sha: str | None


async def pick_base(repo: Path, remote: str, default_branch: str) -> Base:
    """The local default branch, or the remote's when the local one is only behind it
    (e.g. the local forge's merge train moved origin's ``main``): never older than both."""
    from dag_harness_mcp.git.worktree import resolve_commit

    local = await resolve_commit(repo, default_branch)
    try:
        theirs = await remote_branch_sha(repo, remote, default_branch, timeout=_ASK_TIMEOUT)
        if theirs is not None and not await _has_commit(repo, theirs):
            await run_git(["fetch", "--quiet", "--", remote, f"refs/heads/{default_branch}"],
                          repo, timeout=_ASK_TIMEOUT)
    except GitError:
        return Base(local, default_branch, None)
    if theirs is not None and theirs != local and await _is_ancestor(repo, local, theirs):
        return Base(theirs, f"{remote}/{default_branch}", theirs)
    return Base(local, default_branch, theirs)


@dataclass(frozen=True)
class BranchStart:
    """What :func:`refresh_branch` did: ``action`` is ``current`` (already at the base),
    ``kept`` (this run's own commit), ``recreated``, ``rebased`` or ``updated`` (base
    merged into the pushed branch); ``note`` says it in a sentence; ``head_sha`` is the
    branch's head now."""

    action: str
    head_sha: str
    note: str
    stashed: bool = False


async def _is_ancestor(repo: Path, ancestor: str, descendant: str) -> bool:
    result = await run_git(["merge-base", "--is-ancestor", ancestor, descendant], repo, check=False)
    if result.returncode not in (0, 1):
        raise GitError(result.args, result.returncode, result.stderr)
    return result.returncode == 0


async def _has_commit(repo: Path, sha: str) -> bool:
    result = await run_git(["cat-file", "-e", f"{sha}^{{commit}}"], repo, check=False)
    return result.ok


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
    if sha is not None and not await _has_commit(worktree, sha):
        await run_git(["fetch", "--quiet", "--", remote, f"refs/heads/{branch}"], worktree)
    return sha


async def _stash(worktree: Path, branch: str, why: str) -> bool:
    """Stash uncommitted (and untracked) changes; True when there were any."""
    status = await run_git(["status", "--porcelain", "--untracked-files=all"], worktree)
    if not status.stdout.strip():
        return False
    await run_git(
        [*await identity_args(worktree), "stash", "push", "--include-untracked", "--quiet",
         "--message", f"dag-harness: {branch} {why}"],
        worktree,
    )
    return True


async def _foreign_commits(worktree: Path, base: str, trailer_key: str) -> list[str]:
    """Commits on HEAD not in ``base`` that no box-up run made (no ``trailer_key``)."""
    listed = await run_git(
        ["log", "--format=%H%x00%(trailers:key=" + trailer_key + ",valueonly)%x01",
         f"{base}..HEAD"],
        worktree,
    )
    foreign = []
    for record in listed.stdout.split("\x01"):
        sha, _, trailer = record.strip().partition("\x00")
        if sha and not trailer.strip():
            foreign.append(sha)
    return foreign


async def refresh_branch(
    worktree: Path,
    branch: str,
    base: Base,
    *,
    remote: str,
    trailer: tuple[str, str],
) -> BranchStart:
    """Make the branch checked out in ``worktree`` start from ``base`` for a new run
    (see the module docstring). ``trailer`` is this run's ``(key, value)``."""
    key, value = trailer
    base_sha, base_name = base.sha, base.name
    head = await current_sha(worktree)
    short = base_sha[:12]
    if value in await head_trailer_values(worktree, key):
        return BranchStart("kept", head, f"branch {branch} kept: it holds this run's commit")
    pushed = await _remote_head(worktree, remote, branch)
    if pushed is not None and not await _is_ancestor(worktree, pushed, base_sha):
        merged = base.remote_sha is not None and await _is_ancestor(
            worktree, pushed, base.remote_sha)
        return await _merge_base_into(
            worktree, branch, base, pushed, head,
            how=f"and merged into {remote}'s {base_name}, which {base_name} lacks (`git pull`)"
            if merged else "but never merged")
    if head == base_sha:
        stashed = await _stash(worktree, branch, "left by an earlier run")
        if stashed:
            await run_git(["reset", "--quiet", "--hard", base_sha], worktree)
        return BranchStart("current", head, _with_stash(
            f"branch {branch} is at {base_name} ({short})", stashed, branch), stashed)
    foreign = await _foreign_commits(worktree, base_sha, key)
    stashed = await _stash(worktree, branch, "left by an earlier run")
    if not foreign:
        await run_git(["reset", "--quiet", "--hard", base_sha], worktree)
        note = (f"branch {branch} recreated from {base_name} ({short}): the earlier run's "
                f"commit {head[:12]} was " + ("merged" if pushed else "never pushed"))
        return BranchStart("recreated", base_sha, _with_stash(note, stashed, branch), stashed)
    rebase = await run_git(
        [*await identity_args(worktree), "rebase", "--quiet", base_sha], worktree, check=False
    )
    if not rebase.ok:
        await run_git(["rebase", "--abort"], worktree, check=False)
        raise GitError(
            rebase.args, rebase.returncode,
            f"{rebase.stderr.strip()[-300:]}\nbranch {branch} holds {len(foreign)} commit(s) of "
            f"your own that do not rebase onto {base_name} ({short}); rebase it by hand in "
            f"{worktree}, or delete it (`git branch -D {branch}` after removing the worktree), "
            "then box up again",
        )
    new_head = await current_sha(worktree)
    note = (f"branch {branch} rebased onto {base_name} ({short}), keeping {len(foreign)} "
            "commit(s) that no box-up run made")
    return BranchStart("rebased", new_head, _with_stash(note, stashed, branch), stashed)


async def _merge_base_into(
    worktree: Path, branch: str, base: Base, pushed: str, head: str, *, how: str
) -> BranchStart:
    """The branch is published and not in the base: merge the base into it (never rewrite
    it). ``how`` says how it got out (never merged, or merged only on the remote)."""
    base_sha, base_name = base.sha, base.name
    stashed = await _stash(worktree, branch, "left by an earlier run")
    if not await _is_ancestor(worktree, pushed, head):
        # the local branch lost the pushed commit (reset elsewhere): start from the remote's
        await run_git(["reset", "--quiet", "--hard", pushed], worktree)
    merge = await run_git(
        [*await identity_args(worktree), "merge", "--quiet", "--no-edit", "-m",
         f"Merge {base_name} into {branch} for a new box-up run", base_sha],
        worktree, check=False,
    )
    if not merge.ok:
        await run_git(["merge", "--abort"], worktree, check=False)
        raise GitError(
            merge.args, merge.returncode,
            f"{merge.stderr.strip()[-300:]}\nbranch {branch} was pushed ({pushed[:12]}) but "
            f"never merged, and {base_name} ({base_sha[:12]}) does not merge into it cleanly; "
            f"merge {base_name} into it by hand in {worktree} and push, or close its merge "
            f"request and delete the branch (`git push <remote> --delete {branch}`), then box "
            "up again",
        )
    new_head = await current_sha(worktree)
    note = (f"branch {branch} was pushed ({pushed[:12]}) {how}: {base_name} "
            f"({base_sha[:12]}) merged into it, the pushed history kept (never force-pushed)")
    return BranchStart("updated", new_head, _with_stash(note, stashed, branch), stashed)


def _with_stash(note: str, stashed: bool, branch: str) -> str:
    if not stashed:
        return note
    return (f"{note}; uncommitted changes left in the worktree were stashed "
            f"(`git stash list`: 'dag-harness: {branch} ...')")

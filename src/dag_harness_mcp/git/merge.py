"""Merge a commit into a branch of a bare repository (the local forge's merge train).

A fast-forward moves the ref; anything else becomes a ``--no-ff`` merge commit built
with ``git merge-tree --write-tree`` and ``git commit-tree``, so no work tree is needed.
Every ref update checks the old value: a concurrent merge fails instead of losing a commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dag_harness_mcp.errors import GitError
from dag_harness_mcp.git.commit import identity_args
from dag_harness_mcp.git.run import resolve_commit, run_git, validate_ref_name

__all__ = ["MergeConflictError", "MergeOutcome", "merge_into"]


@dataclass(frozen=True)
class MergeOutcome:
    """The target's new sha, whether it was a fast-forward, and whether it was merged already."""

    sha: str
    fast_forward: bool
    already_merged: bool = False


class MergeConflictError(GitError):
    """The source does not merge cleanly into the target; ``files`` lists the conflicts."""

    def __init__(
        self, args: list[str], target: str, source: str, files: list[str], detail: str
    ) -> None:
        self.files = files
        super().__init__(
            args, 1,
            f"{source[:12]} conflicts with {target} in {', '.join(files) or 'unknown files'}; "
            f"rebase the branch onto {target} and push it again. {detail}",
        )


async def merge_into(
    bare_repo: Path, target_branch: str, source_sha: str, *, message: str
) -> MergeOutcome:
    """Merge commit ``source_sha`` into ``refs/heads/<target_branch>`` of ``bare_repo``:
    nothing when it is contained already, a fast-forward when the target is its ancestor,
    else a merge commit with ``message``. A conflict raises :class:`MergeConflictError`
    and leaves the target where it was."""
    ref = f"refs/heads/{validate_ref_name(target_branch)}"
    target = await resolve_commit(bare_repo, ref)
    source = await resolve_commit(bare_repo, source_sha)
    # One ancestry question for both cases: the merge base is the source or the target.
    found = await run_git(["merge-base", target, source], bare_repo, check=False)
    if found.returncode not in (0, 1):  # 1: no common history
        raise GitError(found.args, found.returncode, found.stderr)
    if found.stdout.strip() == source:
        return MergeOutcome(sha=target, fast_forward=source == target, already_merged=True)
    if found.stdout.strip() == target:
        await run_git(
            ["update-ref", "-m", f"merge train: fast-forward to {source}", ref, source, target],
            bare_repo,
        )
        return MergeOutcome(sha=source, fast_forward=True)
    tree = await run_git(
        ["merge-tree", "--write-tree", "--name-only", "-z", target, source], bare_repo, check=False
    )
    if tree.returncode == 1:
        sections = tree.stdout.split("\0\0", 1)
        names = [n for n in sections[0].split("\0")[1:] if n]
        detail = sections[1].replace("\0", " ").strip() if len(sections) > 1 else ""
        raise MergeConflictError(tree.args, target_branch, source, sorted(set(names)), detail[:300])
    if tree.returncode != 0:
        raise GitError(tree.args, tree.returncode, tree.stderr)
    tree_sha = tree.stdout.split("\0", 1)[0].strip()
    commit = await run_git(
        [*await identity_args(bare_repo), "commit-tree", tree_sha, "-p", target, "-p", source,
         "-F", "-"],
        bare_repo, input_text=message.rstrip("\n") + "\n",
    )
    merged = commit.stdout.strip()
    await run_git(
        ["update-ref", "-m", f"merge train: merge {source}", ref, merged, target], bare_repo
    )
    return MergeOutcome(sha=merged, fast_forward=False)

"""How the local forge merges the head of its train into the bare ``origin``.

The merge itself is :func:`dag_harness_mcp.git.merge_into` (fast-forward when
possible, else a merge commit; a conflict raises and leaves the target as it
was). This module decides *what* to merge: the commit pinned when the MR joined
the train, and only if the source branch still points at it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from dag_harness_mcp.errors import ForgeError, GitError

if TYPE_CHECKING:
    from dag_harness_mcp.db.state import Row
    from dag_harness_mcp.forge.local import LocalForge

__all__ = ["LocalMerge", "merge_head", "merge_message"]


@dataclass(frozen=True)
class LocalMerge:
    sha: str  # the target branch's new head
    fast_forward: bool
    source_sha: str


def merge_message(mr: Row, target: str) -> str:
    return (
        f"Merge branch '{mr['source_branch']}' into '{target}'\n\n"
        f"{mr['title']}\n\nSee merge request {mr['web_url']}\n"
    )


async def merge_head(forge: LocalForge, mr: Row, target: str) -> LocalMerge:
    """Merge ``mr`` into ``target`` of origin; raises ForgeError/GitError when it cannot."""
    from dag_harness_mcp.git.run import run_git
    from dag_harness_mcp.git.worktree import resolve_commit

    origin = await forge.origin_path()
    source = str(mr["source_branch"])
    try:
        current = await resolve_commit(origin, f"refs/heads/{source}")
    except GitError:
        current = None
    pinned = mr["sha"] or current
    if pinned is None:
        raise ForgeError(
            f"source branch {source!r} is not in origin ({origin}); push it, then add"
            f" merge request !{mr['iid']} to the train again"
        )
    if current is not None and current != pinned:
        raise ForgeError(
            f"source branch {source!r} moved since !{mr['iid']} joined the train"
            f" ({pinned[:12]} -> {current[:12]}); add it to the train again"
        )
    target_head = await resolve_commit(origin, f"refs/heads/{target}")
    contained = await run_git(
        ["merge-base", "--is-ancestor", pinned, target_head], origin, check=False
    )
    if contained.ok:
        # Already in the target (a merge recorded before a crash, or nothing to merge).
        return LocalMerge(sha=target_head, fast_forward=target_head == pinned, source_sha=pinned)
    from dag_harness_mcp.git import merge_into

    outcome = await merge_into(origin, target, pinned, message=merge_message(mr, target))
    return LocalMerge(sha=outcome.sha, fast_forward=outcome.fast_forward, source_sha=pinned)

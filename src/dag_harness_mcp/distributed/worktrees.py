"""Give a run taken over on another machine its worktree back before it resumes: on its
branch, fetched from the remote if only the remote has it, else from the default branch."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dag_harness_mcp.service.run_types import execution_dict

if TYPE_CHECKING:
    from dag_harness_mcp.service.app import HarnessApp

__all__ = ["restore_worktree"]

log = logging.getLogger(__name__)


def _worktree_of(row: dict[str, Any]) -> tuple[Path, str] | None:
    data = execution_dict(row).get("checkpoint_data") or {}
    values = data.get("values") if isinstance(data, dict) else None
    if not isinstance(values, dict):
        return None
    path, branch = values.get("worktree_path"), values.get("branch")
    if not path or not branch:
        return None
    return Path(str(path)), str(branch)


async def restore_worktree(app: HarnessApp, row: dict[str, Any]) -> Path | None:
    """Re-create the worktree of execution ``row`` if it is missing; its path if made."""
    from dag_harness_mcp.git.run import run_git, validate_ref_name
    from dag_harness_mcp.git.worktree import ensure_worktree

    found = _worktree_of(row)
    if found is None:
        return None
    path, branch = found
    if path.is_dir():
        return None
    validate_ref_name(branch)
    settings = app.settings
    repo = settings.repo_root
    local = await run_git(
        ["show-ref", "--verify", "--quiet", f"refs/heads/{branch}"], repo, check=False
    )
    if not local.ok:
        fetched = await run_git(
            ["fetch", "--quiet", settings.remote, f"refs/heads/{branch}:refs/heads/{branch}"],
            repo, check=False,
        )
        log.info("branch %s %s from %s", branch, "fetched" if fetched.ok else "not found",
                 settings.remote)
    await ensure_worktree(repo, path, branch, settings.default_branch)
    log.warning("execution %s: worktree %s re-created on %s", row["id"], path, branch)
    return path

"""A project for hook benchmarks: a directory, its StateDB and a capability context on it.

The hook benchmarks run the real hook script as Claude Code would, so each needs the
same stage: a project, the environment a hook process gets there, and an active
context granted to the session ``bench``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["hook_project"]


def hook_project(tmp: Path, *, bash_allow: list[str], bash_deny: list[str],
                 mcp_tools: list[str]) -> tuple[Path, Path, dict[str, str], dict[str, Any]]:
    """``(project, db_path, env, context)`` under ``tmp``; the context lets ``bench``
    write anywhere in the project."""
    from dag_harness_mcp.config import load_settings
    from dag_harness_mcp.service.app import HarnessApp
    from dag_harness_mcp.service.capabilities import grant_capabilities

    project = (tmp / "project").resolve()
    project.mkdir()
    db_path = tmp / "state" / "harness.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_", "CLAUDE_"))}
    env.update(HARNESS_DB_PATH=str(db_path), CLAUDE_PROJECT_DIR=str(project))
    settings = load_settings({"repo_root": project, "db_path": db_path}, environ={})
    with HarnessApp.open(settings) as app:
        context = grant_capabilities(
            app, session_id="bench", project_dir=None, file_write=[f"{project}/**"],
            bash_allow=bash_allow, bash_deny=bash_deny, mcp_tools=mcp_tools,
            gitlab_write=False, ttl_seconds=3600, name="bench")
    return project, db_path, env, dict(context)

"""Run one GitLab find-or-create in a fresh process (the kill-and-resume tests SIGKILL it).

Configured by the environment (GITLAB_URL, GITLAB_TOKEN, HARNESS_GITLAB_PROJECT,
HARNESS_REPO_ROOT, HARNESS_DB_PATH); argv[1] is ``issue`` or ``mr``.
"""

from __future__ import annotations

import asyncio
import sys

from dag_harness_mcp.config import load_settings
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.trains import open_forge


async def main(kind: str) -> None:
    with HarnessApp.open(load_settings(), actor="crash-client", source="test") as app:
        forge = open_forge(app)
        if kind == "issue":
            await forge.find_or_create_issue(
                role="web", title="Box up Ansible role: web", description="d", labels=[]
            )
        else:
            await forge.find_or_create_merge_request(
                role="web", source_branch="box-up/web", target_branch="main",
                title="box-up: web", description="d", labels=[],
            )
    print("finished", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))

"""Link a role's issue to its merge request once the MR exists (both forges).

The issue is created first, so its rendered description says the MR is "not
opened yet"; when the MR is found or created for that issue, the issue's
description is rewritten to link it. Idempotent: an issue that already links
an MR is left alone, so a resume after a crash in between just finishes the job.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dag_harness_mcp.forge.base import Forge
from dag_harness_mcp.forge.templates import link_mr_in_issue_description

if TYPE_CHECKING:
    from dag_harness_mcp.db.repos.forge import ForgeRepository

__all__ = ["link_issue_to_mr"]


async def link_issue_to_mr(
    forge: Forge, records: ForgeRepository, issue_iid: int, mr_url: str
) -> bool:
    """Point issue ``issue_iid``'s description at ``mr_url``; True when it changed."""
    row = records.get_issue(forge.kind, forge.project, issue_iid)
    if row is None or not row["description"]:
        return False
    linked = link_mr_in_issue_description(str(row["description"]), mr_url)
    if linked == row["description"]:
        return False
    await forge.update_issue_description(issue_iid, linked)
    return True

"""A run whose driver was stopped by the person (Ctrl-C in the CLI).

The runner already leaves such a run resumable (its caller was cancelled: the
checkpoint keeps the unfinished nodes). :func:`mark_interrupted` makes that visible:
the run becomes ``paused`` before the nodes it was running, so `harness executions`,
``get_execution`` and a second ``box-up-role`` all say to resume it, and the audit log
records ``execution.interrupted``.
"""

from __future__ import annotations

import os
from typing import Any

from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.run_types import execution_dict

__all__ = ["mark_interrupted"]


def mark_interrupted(app: HarnessApp, execution_id: int, *, reason: str) -> dict[str, Any]:
    """Pause a run that was ``running`` when its driver stopped; the row as it is after.

    A run that already ended, paused or was cancelled is left as it is.
    """
    repo = app.db.executions
    row = execution_dict(repo.require(execution_id), with_data=False)
    if row["status"] not in ("pending", "running"):
        return row
    nodes = list(row.get("next_nodes") or [])
    changed = repo.set_status(
        execution_id, "paused", next_nodes=nodes,
        unless=("paused", "completed", "failed", "rejected", "cancelled"),
    )
    repo.release(execution_id, os.getpid())
    if changed:
        app.audit("execution.interrupted", entity_type="execution", entity_id=execution_id,
                  details={"reason": reason, "next": nodes})
    return execution_dict(repo.require(execution_id), with_data=False)

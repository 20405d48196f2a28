"""repair: pause so the agent can fix the role in its worktree, then re-test.

Reached when tests still fail after the recovery round and repair rounds remain.
The run keeps its worktree and its capability context while it waits. Resuming
(no decision: ``resume_execution(id)``, ``harness resume ID``) re-runs the kinds
that failed, then every kind once more (``retest`` in the state), then goes on.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from dag_harness_mcp.graph.context import NodeContext
from dag_harness_mcp.graph.nodes._guard import Update, in_thread, node
from dag_harness_mcp.graph.state import BoxUpRoleState
from dag_harness_mcp.runner.digest import digest_size
from dag_harness_mcp.runner.repair import repair_request

__all__ = ["repair"]


@node("repair")
async def repair(state: BoxUpRoleState, runtime: Runtime[NodeContext]) -> Update:
    """Interrupt with the repair request; on resume, count the round and re-test."""
    request: dict[str, Any] = repair_request(state)
    interrupt(request)  # (the answer carries nothing: the agent's edits are in the worktree)
    await in_thread(
        runtime.context.app.audit, "workflow.repair", entity_type="execution",
        entity_id=runtime.context.execution_id,
        details={"role": state["role_name"], "round": request["round"],
                 "rounds": request["rounds"], "kinds": request["failed_kinds"],
                 "digest_bytes": digest_size(request["digest"])},
    )
    return {"repair_round": request["round"], "retest": "failed"}

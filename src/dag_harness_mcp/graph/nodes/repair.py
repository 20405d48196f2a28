"""repair and scaffold_tests: pause so the agent fixes the role (or gives an untested role
tests) in its worktree; resuming re-tests the failed kinds, then every kind once more."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from dag_harness_mcp.graph.context import NodeContext
from dag_harness_mcp.graph.nodes.decorator import Update, in_thread, node
from dag_harness_mcp.graph.nodes.validation import probe_tests
from dag_harness_mcp.graph.state import BoxUpRoleState
from dag_harness_mcp.runner.digest import digest_size, repair_request, scaffold_request

__all__ = ["repair", "scaffold_tests"]


@node("repair")
async def repair(state: BoxUpRoleState, runtime: Runtime[NodeContext]) -> Update:
    """Interrupt with the repair request; on resume, count the round and re-test."""
    request: dict[str, Any] = repair_request(state)
    interrupt(request)  # (the answer carries nothing: the agent's edits are in the worktree)
    await runtime.context.audit(
        "workflow.repair", role=state["role_name"], round=request["round"],
        rounds=request["rounds"], kinds=request["failed_kinds"],
        digest_bytes=digest_size(request["digest"]))
    return {"repair_round": request["round"], "retest": "failed"}


@node("scaffold_tests")
async def scaffold_tests(state: BoxUpRoleState, runtime: Runtime[NodeContext]) -> Update:
    """Interrupt once for an untested role; on resume, look again for the tests the agent
    added in the worktree (none: the run goes on untested)."""
    interrupt(scaffold_request(state))
    has_molecule, has_pytest = await in_thread(
        probe_tests, Path(state["worktree_role_path"]))
    await runtime.context.audit("workflow.scaffold_tests", role=state["role_name"],
                                molecule=has_molecule, pytest=has_pytest)
    return {"has_molecule_tests": has_molecule, "has_pytest_tests": has_pytest,
            "untested": not (has_molecule or has_pytest), "scaffold_asked": True}

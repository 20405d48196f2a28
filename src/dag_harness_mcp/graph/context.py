"""What a node gets besides the state (LangGraph's runtime context, never checkpointed):
the run's identity and the narrow WorkflowDeps the service layer builds."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dag_harness_mcp.runner.process import ChildRegistry, execution_children, owner_of

if TYPE_CHECKING:
    from dag_harness_mcp.config import Settings
    from dag_harness_mcp.db.repos.capabilities import CapabilityRepository
    from dag_harness_mcp.db.repos.roles import RoleRepository
    from dag_harness_mcp.db.repos.suite_runs import SuiteRunRepository
    from dag_harness_mcp.db.repos.worktrees import WorktreeRepository
    from dag_harness_mcp.forge.base import Audit, Forge

__all__ = ["NodeContext", "WorkflowDeps"]


@dataclass(frozen=True)
class WorkflowDeps:
    """What the nodes use of the process: built once per app by the service layer."""

    settings: Settings
    roles: RoleRepository
    tests: SuiteRunRepository
    worktrees: WorktreeRepository
    capabilities: CapabilityRepository
    audit: Audit
    sync_roles: Callable[[], object]  # rescan the roles path (a role the StateDB lacks)


@dataclass
class NodeContext:
    deps: WorkflowDeps
    forge: Forge
    execution_id: int
    thread_id: str
    auto_approve: bool = False

    @property
    def settings(self) -> Settings:
        return self.deps.settings

    @property
    def children(self) -> tuple[ChildRegistry, str]:
        """Where a node records the commands it starts (``run_process(children=...)``), so
        a resume after ``kill -9`` can stop the ones still running."""
        return execution_children(self.settings.database_path), owner_of(self.execution_id)

    async def audit(self, action: str, **details: Any) -> None:
        """Record ``action`` on this execution in the audit log (off the event loop)."""
        await asyncio.to_thread(
            self.deps.audit, action, entity_type="execution", entity_id=self.execution_id,
            details=details,
        )

"""What every node gets besides the state: the app, the forge and the run's identity.

Passed as LangGraph's runtime context on every invoke and resume:
``graph.ainvoke(..., context=NodeContext(...))``; nodes read it as
``runtime.context``. It is never checkpointed.
"""

from __future__ import annotations

from dataclasses import dataclass

from dag_harness_mcp.forge.base import Forge
from dag_harness_mcp.service.app import HarnessApp

__all__ = ["NodeContext"]


@dataclass
class NodeContext:
    app: HarnessApp
    forge: Forge
    execution_id: int
    thread_id: str
    auto_approve: bool = False

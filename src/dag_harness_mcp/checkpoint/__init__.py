"""The checkpointer: LangGraph's saver bridged to the StateDB (imports LangGraph lazily)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dag_harness_mcp.checkpoint.bridge import CheckpointerWithStateDB, ExecutionCancelled
    from dag_harness_mcp.checkpoint.factory import CheckpointerFactory

__all__ = ["CheckpointerFactory", "CheckpointerWithStateDB", "ExecutionCancelled"]


def __getattr__(name: str) -> Any:
    if name in ("CheckpointerWithStateDB", "ExecutionCancelled"):
        from dag_harness_mcp.checkpoint import bridge

        return getattr(bridge, name)
    if name == "CheckpointerFactory":
        from dag_harness_mcp.checkpoint.factory import CheckpointerFactory

        return CheckpointerFactory
    raise AttributeError(name)

"""Cross-thread memory: the LangGraph BaseStore backed by StateDB (imports langgraph)."""

from dag_harness_mcp.store.harness_store import HarnessStore, validate_namespace

__all__ = ["HarnessStore", "validate_namespace"]

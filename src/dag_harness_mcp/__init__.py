"""dag-harness-mcp: box up Ansible roles through a checkpointed LangGraph workflow.

The package top level stays import-light on purpose: the Claude Code hooks import
``dag_harness_mcp.hooks`` on every tool call and must not pay for LangGraph,
pydantic or the MCP SDK. Import the subpackages you need explicitly.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]

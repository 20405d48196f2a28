"""Claude Code hooks: record sessions, tool calls, file changes and token costs; enforce
capability contexts on PreToolUse.

Standard library only on the hot path: the entry point (``hooks/harness_hook.py``)
runs ``python3 -S`` and imports :mod:`dag_harness_mcp.hooks.main` directly; nothing
here may import pydantic, LangGraph, the MCP SDK, PyYAML or ``typing`` at run time.
"""

__all__: list[str] = []

"""The one service layer under the CLI, the MCP server and the hooks' slow paths.

Every operation (sync roles, start or resume a run, grant a capability, ...)
exists once here; front ends parse, call one function and render.
"""

from dag_harness_mcp.service.app import HarnessApp

__all__ = ["HarnessApp"]

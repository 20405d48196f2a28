"""A stdio MCP server whose tool answers with a text part and a *different* structured part,
to see which of the two a client hands its model (tests/claude/test_claude_tool_results.py).

Run as a script: ``python -m support.two_part_server`` or by path.
"""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, TextContent

TEXT_PART = "THE TEXT PART"
STRUCTURED_PART = {"part": "the structured part"}

server = MCPServer("probe")


@server.tool()
def two_parts() -> dict[str, str]:
    """Answer with a text part and a different structured part."""
    return CallToolResult(  # type: ignore[return-value]  # the SDK passes a CallToolResult on
        content=[TextContent(type="text", text=TEXT_PART)], structured_content=STRUCTURED_PART)


@server.tool(structured_output=False)
def text_only() -> str:
    """Answer with a text part only."""
    return TEXT_PART


if __name__ == "__main__":
    server.run("stdio")

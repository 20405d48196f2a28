"""The MCP stdio server: tools, resources and prompts over the service layer.

Importing this package imports nothing heavy; :mod:`dag_harness_mcp.mcp.server`
builds the server (the mcp SDK, pydantic), and LangGraph and python-gitlab load
only when a tool first needs them.
"""

__all__: list[str] = []

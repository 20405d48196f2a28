"""The MCP server: tools, resources and prompts over the service layer (:mod:`.server`);
importing this package imports nothing heavy."""

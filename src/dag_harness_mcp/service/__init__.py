"""The service layer under the CLI, the MCP server and the hooks' slow paths: every
operation exists once here; front ends parse, call one function and render."""

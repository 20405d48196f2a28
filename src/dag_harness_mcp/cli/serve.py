"""CLI command: ``harness serve`` runs the MCP server over stdio (as ``dag-harness-mcp``)."""

from __future__ import annotations

import typer

from dag_harness_mcp.cli.common import overrides

__all__ = ["commands"]

commands = typer.Typer()


@commands.command("serve")
def serve(ctx: typer.Context) -> None:
    """Serve the MCP tools, resources and prompts over stdio (stdout carries only JSON-RPC)."""
    from dag_harness_mcp.mcp.server import create_server, preflight
    from dag_harness_mcp.mcp.stdio import exit_quietly_on_signals, serve_stdio

    exit_quietly_on_signals()
    serve_stdio(create_server(preflight(overrides(ctx))))

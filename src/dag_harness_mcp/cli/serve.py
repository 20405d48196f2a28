"""CLI command: ``harness serve`` runs the MCP server over stdio (as ``dag-harness-mcp``)."""

from __future__ import annotations

from typing import Any

import typer

__all__ = ["register"]


def serve(ctx: typer.Context) -> None:
    """Serve the MCP tools, resources and prompts over stdio (stdout carries only JSON-RPC)."""
    from dag_harness_mcp.mcp.server import create_server, preflight
    from dag_harness_mcp.mcp.stdio import exit_quietly_on_signals, serve_stdio

    exit_quietly_on_signals()
    obj = ctx.find_root().obj
    overrides: dict[str, Any] = obj.get("overrides", {}) if isinstance(obj, dict) else {}
    serve_stdio(create_server(preflight(overrides)))


def register(app: typer.Typer) -> None:
    """Add this group's commands to ``app``."""
    app.command("serve")(serve)

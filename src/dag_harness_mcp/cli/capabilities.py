"""``harness capabilities grant|revoke|list``: what a Claude Code session may write, run and
call until the context expires (the PreToolUse hook enforces it)."""

from __future__ import annotations

from typing import Annotated

import typer

from dag_harness_mcp.cli.common import (
    JsonFlag,
    console,
    emit_json,
    err_console,
    open_app,
    print_table,
    run_cli,
)
from dag_harness_mcp.service import capabilities as service

__all__ = ["group"]


group = typer.Typer(
    name="capabilities",
    help="Grant, revoke and list capability contexts enforced by the hooks.",
    no_args_is_help=True,
)


def _render(contexts: list[service.CapabilityContext], title: str) -> None:
    if not contexts:
        err_console.print("no capability contexts; grant one with `harness capabilities grant`")
        return
    print_table(title, ("id", "name", "bound to", "state", "expires", "capabilities"), [
        (c.id, c.name, f"session {c.session_id}" if c.session_id else f"dir {c.project_dir}",
         c.state, c.expires_at or "never",
         "\n".join(f"{kind}: {', '.join(ps)}" for kind, ps in sorted(c.capabilities.items()))
         or "(none: read-only)")
        for c in contexts])


@group.command("grant")
def grant(
    ctx: typer.Context,
    session: Annotated[str | None, typer.Option("--session", help="Bind to this Claude Code "
                                                 "session id.")] = None,
    project: Annotated[str | None, typer.Option("--project", help="Bind to every session in "
                                                 "this directory (and below).")] = None,
    file_write: Annotated[list[str] | None, typer.Option(
        "--file-write", help="Path glob writable (repeat); '**' spans directories.")] = None,
    bash_allow: Annotated[list[str] | None, typer.Option(
        "--bash-allow", help="Command pattern allowed, e.g. 'pytest *' or '*' (repeat).")] = None,
    bash_deny: Annotated[list[str] | None, typer.Option(
        "--bash-deny", help="Command pattern refused, e.g. 'git push *' (repeat).")] = None,
    mcp_tool: Annotated[list[str] | None, typer.Option(
        "--mcp-tool", help="MCP tool name glob (or 're:<regex>') allowed (repeat).")] = None,
    gitlab_write: Annotated[bool, typer.Option(
        "--gitlab-write", help="Allow GitLab writes (git push, MRs, merge train).")] = False,
    network: Annotated[bool, typer.Option(
        "--network", help="Let sandboxed commands use the network (off by default).")] = False,
    role: Annotated[str | None, typer.Option("--role", help="Role this context is for.")] = None,
    ttl: Annotated[float | None, typer.Option(
        "--ttl", help="Seconds until it expires (default: never).")] = None,
    name: Annotated[str, typer.Option("--name", help="A short name for listings.")] = "manual",
    as_json: JsonFlag = False,
) -> None:
    """Open a capability context for a session or a project directory."""
    context = run_cli(lambda: service.grant_capabilities(
        open_app(ctx), session_id=session, project_dir=project, role=role,
        file_write=file_write or [], bash_allow=bash_allow or [], bash_deny=bash_deny or [],
        mcp_tools=mcp_tool or [], gitlab_write=gitlab_write, ttl_seconds=ttl, name=name,
        network=network,
    ))
    if as_json:
        return emit_json(context)
    _render([context], f"granted context #{context.id}")


@group.command("revoke")
def revoke(
    ctx: typer.Context,
    context_id: Annotated[int, typer.Argument(help="The context id (see `capabilities list`).")],
    as_json: JsonFlag = False,
) -> None:
    """Revoke a capability context now."""
    context = run_cli(lambda: service.revoke_capabilities(open_app(ctx), context_id))
    if as_json:
        return emit_json(context)
    console.print(f"revoked context #{context.id} {context.name!r}")


@group.command("list")
def list_(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="Include expired and revoked.")] = False,
    session: Annotated[str | None, typer.Option("--session", help="Only this session's.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List capability contexts (active ones unless --all)."""
    contexts = run_cli(lambda: service.list_capabilities(
        open_app(ctx), active_only=not all_, session_id=session))
    if as_json:
        return emit_json(contexts)
    _render(contexts, "capability contexts")

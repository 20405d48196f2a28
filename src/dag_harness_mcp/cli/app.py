"""The ``harness`` Typer application: global options, command-group registration and
``harness serve`` (the MCP server over stdio, as ``dag-harness-mcp``)."""

from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from dag_harness_mcp import __version__
from dag_harness_mcp.cli import (
    capabilities,
    database,
    distributed,
    hotl,
    observe,
    roles,
    runs,
    setup,
    trains,
    waves,
)
from dag_harness_mcp.cli.common import overrides

__all__ = ["GLOBAL_OPTION_EXCLUDES", "HarnessGroup", "app", "hoist_options", "main"]

# Root options that stay where they are: `harness sync --help` is sync's help.
GLOBAL_OPTION_EXCLUDES = frozenset({"--help", "--install-completion", "--show-completion"})


class HarnessGroup(TyperGroup):
    """The root group, whose options may also follow the command (``harness sync --repo X``):
    they are moved to the front before parsing. No command has an option of the same name
    (tests/cli/test_global_options.py checks)."""

    def global_options(self, ctx: Any) -> dict[str, bool]:
        """``{option name: takes a value}`` for every root option that may follow a command."""
        found: dict[str, bool] = {}
        for param in self.get_params(ctx):
            names = [*getattr(param, "opts", []), *getattr(param, "secondary_opts", [])]
            takes_value = not (getattr(param, "is_flag", False) or getattr(param, "count", False))
            for name in names:
                if name.startswith("--") and name not in GLOBAL_OPTION_EXCLUDES:
                    found[name] = takes_value
        return found

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_options(args, self.global_options(ctx)))


def hoist_options(args: list[str], options: dict[str, bool]) -> list[str]:
    """``args`` with the named options (and their values) moved to the front, order kept."""
    front: list[str] = []
    rest: list[str] = []
    tokens = iter(args)
    for token in tokens:
        name = token.split("=", 1)[0]
        if token == "--":
            rest += [token, *tokens]
        elif name not in options:
            rest.append(token)
        else:
            front.append(token)
            if options[name] and "=" not in token:
                front.extend(islice(tokens, 1))  # its value, when there is one
    return front + rest


app = typer.Typer(
    name="harness", cls=HarnessGroup, no_args_is_help=True, pretty_exceptions_enable=False,
    help="Box up Ansible roles through a checkpointed LangGraph workflow. Global options "
    "(--repo, --db, --roles-path, --version) go before or after the command.")


def _version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def _global(
    ctx: typer.Context,
    repo: Annotated[
        Path | None, typer.Option("--repo", help="Repository root (env HARNESS_REPO_ROOT).")
    ] = None,
    db: Annotated[
        Path | None, typer.Option("--db", help="StateDB path (env HARNESS_DB_PATH).")
    ] = None,
    roles_path: Annotated[
        str | None,
        typer.Option("--roles-path", help="Roles path below the repo (env HARNESS_ROLES_PATH)."),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Global options; every command reads its settings from here, the env and harness.yml."""
    ctx.obj = {"overrides": {"repo_root": repo, "db_path": db, "roles_path": roles_path}}


serving = typer.Typer()


@serving.command("serve")
def serve(ctx: typer.Context) -> None:
    """Serve the MCP tools, resources and prompts over stdio (stdout carries only JSON-RPC)."""
    from dag_harness_mcp.mcp.server import create_server, preflight
    from dag_harness_mcp.mcp.stdio import exit_quietly_on_signals, serve_stdio

    exit_quietly_on_signals()
    serve_stdio(create_server(preflight(overrides(ctx))))


# Commands in this order in `harness --help`, then the groups.
for commands in (roles.commands, runs.commands, waves.commands, observe.commands,
                 setup.commands, distributed.commands, serving, trains.commands):
    app.add_typer(commands)
for group in (hotl.group, capabilities.group, observe.sessions, database.group):
    app.add_typer(group)


def main() -> None:
    app()

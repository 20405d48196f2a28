"""The ``harness`` Typer application: global options and command-group registration."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dag_harness_mcp import __version__

__all__ = ["app", "main"]

app = typer.Typer(
    name="harness",
    help="Box up Ansible roles through a checkpointed LangGraph workflow.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


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
    ctx.obj = {
        "overrides": {
            "repo_root": repo,
            "db_path": db,
            "roles_path": roles_path,
        }
    }


def _register() -> None:
    from dag_harness_mcp.cli import (
        capabilities,
        database,
        distributed,
        hotl,
        observe,
        roles,
        runs,
        serve,
        setup,
        trains,
        waves,
    )

    for module in (
        roles, runs, waves, hotl, capabilities, observe, setup, database, distributed, serve,
        trains,
    ):
        module.register(app)


_register()


def main() -> None:
    app()

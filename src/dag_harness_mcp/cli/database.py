"""CLI commands: ``harness db status`` and ``harness db migrate --to postgres``."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from dag_harness_mcp.cli.common import (
    JsonFlag,
    cli_errors,
    console,
    emit_json,
    err_console,
    make_table,
    run_cli,
    settings,
)
from dag_harness_mcp.errors import ConfigError, InvalidArgumentError

__all__ = ["group"]


group = typer.Typer(
    name="db",
    help="The state database: where it is, its schema version, moving it to PostgreSQL.",
    no_args_is_help=True,
)


@group.command("status")
def status(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Show the backend, its location (URL without password) and the schema version."""
    from dag_harness_mcp.service.database import database_status

    report = run_cli(lambda: database_status(settings(ctx)))
    if as_json:
        emit_json(report)
        return
    version = "none yet" if report.schema_version is None else str(report.schema_version)
    table = make_table("state database", ("", ""), [
        ("backend", report.backend),
        ("location", report.location + ("" if report.exists else "  (not created yet)")),
        ("schema", report.schema or ("public" if report.backend == "postgres" else "-")),
        ("schema version", f"{version} (latest {report.latest_version}, "
                           f"{report.pending_migrations} pending)"),
        ("checkpoints", report.checkpoints),
    ])
    table.show_header = False
    console.print(table)


@group.command("migrate")
def migrate(
    ctx: typer.Context,
    to: Annotated[str, typer.Option("--to", help="Target backend (only 'postgres').")],
    url: Annotated[str | None, typer.Option(
        "--url", help="PostgreSQL URL (default: HARNESS_POSTGRES_URL).")] = None,
    schema: Annotated[str | None, typer.Option(
        "--schema", help="PostgreSQL schema (default: HARNESS_POSTGRES_SCHEMA, else public).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Copy the SQLite state (StateDB, checkpoints, store) into PostgreSQL and verify it.

    Stop harness processes writing the SQLite state first. Safe to repeat; refuses a
    target holding other harness data.
    """
    from dag_harness_mcp.service.database import migrate_to_postgres

    chosen = settings(ctx)
    target = url or (
        chosen.postgres_url.get_secret_value() if chosen.postgres_url is not None else None
    )
    with cli_errors():
        if to != "postgres":
            raise InvalidArgumentError("--to", to, "the only migration target is 'postgres'")
        if target is None:
            raise ConfigError("postgres_url", None, "give --url or set HARNESS_POSTGRES_URL")
    report = run_cli(lambda: asyncio.run(migrate_to_postgres(
        chosen, url=target, schema=schema or chosen.postgres_schema,
    )))
    if as_json:
        emit_json(report)
        return
    where = f"{report.target} (schema {report.schema or 'public'})"
    note = " (tables were already there, unchanged)" if report.tables_already_migrated else ""
    err_console.print(
        f"migrated {report.source} -> {where}{note}: {sum(report.tables.values())} rows in "
        f"{len(report.tables)} tables, {report.checkpoints} checkpoints of {report.threads} "
        f"threads, {report.writes} pending writes; verified by counts and content",
        highlight=False,
    )
    err_console.print(
        "use it: HARNESS_POSTGRES_URL=<url>"
        + (f" HARNESS_POSTGRES_SCHEMA={report.schema}" if report.schema else ""),
        highlight=False,
    )

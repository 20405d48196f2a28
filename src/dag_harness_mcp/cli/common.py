"""Shared CLI plumbing: opening the app from global options, JSON output, tables, errors."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import sys
from collections.abc import Callable, Coroutine, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from dag_harness_mcp.config import Settings, load_settings
from dag_harness_mcp.errors import (
    ConfigError,
    HarnessError,
    InvalidArgumentError,
    InvalidNameError,
    NotFoundError,
    WorkflowError,
)
from dag_harness_mcp.service.app import HarnessApp

__all__ = ["STATUS_STYLE", "JsonFlag", "cli_errors", "console", "emit_json", "err_console",
           "make_table", "open_app", "overrides", "plain", "print_table", "run_async", "run_cli",
           "settings", "styled"]

console = Console()
err_console = Console(stderr=True)

T = TypeVar("T")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]

# The colours of run, role and wave statuses in every table.
STATUS_STYLE = {"completed": "green", "paused": "yellow", "failed": "red", "blocked": "red",
                "rejected": "red", "skipped": "magenta", "cancelled": "magenta",
                "running": "cyan", "pending": "white"}


def plain(value: object) -> str:
    """A data value for a Rich table cell or message: ``[...]`` in role names, references
    and errors is shown as written, never read as markup (``x[red]`` stays ``x[red]``)."""
    return escape("" if value is None else str(value))


def styled(status: str) -> str:
    """A status in its colour (:data:`STATUS_STYLE`)."""
    return f"[{STATUS_STYLE.get(status, 'white')}]{status}[/]"


def make_table(
    title: str, columns: Sequence[str], rows: Iterable[Sequence[object]], *, empty: str = ""
) -> Table:
    """A Rich table of ``rows`` (cells as ``str``); with no rows, ``empty`` (a hint what to
    run) goes to stderr."""
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(cell) for cell in row))
    if not table.rows and empty:
        err_console.print(empty, highlight=False)
    return table


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """:func:`make_table` on stdout, cells shown as written (:func:`plain`: no markup)."""
    console.print(make_table(title, columns, ([plain(cell) for cell in row] for row in rows)))


# Said when the CLI finds itself in the sandbox the hooks run an agent's commands in.
_SANDBOXED = (
    "inside dag-harness's sandbox (where the agent's commands run while a capability context "
    "is active) the harness's state is read-only: approving or rejecting a run, cancelling it "
    "and granting or revoking capabilities are a person's decisions. A person runs "
    "`harness resume N --approve` (or `--reject`), `harness cancel N` or "
    "`harness capabilities grant|revoke ...` in their own terminal; the agent reads state "
    "with the MCP tools (get_execution, query_state)")


def _read_only_db(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "readonly" in text or "read-only" in text or "unable to open database" in text


def overrides(ctx: typer.Context) -> dict[str, Any]:
    """The settings the global options (--repo, --db, --roles-path) override."""
    obj = ctx.find_root().obj
    return obj.get("overrides", {}) if isinstance(obj, dict) else {}


def settings(ctx: typer.Context) -> Settings:
    """Settings from the global options, without opening (or creating) the database."""
    return run_cli(lambda: load_settings(overrides(ctx)))


def open_app(ctx: typer.Context) -> HarnessApp:
    """The HarnessApp of this invocation, built once from the global options; refused in the
    hooks' sandbox (``HARNESS_SANDBOX`` set), saying who decides instead."""
    if os.environ.get("HARNESS_SANDBOX"):
        err_console.print(f"[bold red]error:[/] {_SANDBOXED}", highlight=False)
        raise typer.Exit(2)
    root = ctx.find_root()
    obj: dict[str, Any] = root.obj if isinstance(root.obj, dict) else {}
    app = obj.get("app")
    if isinstance(app, HarnessApp):
        return app
    with cli_errors():
        app = HarnessApp.open(overrides=overrides(ctx))
    obj["app"] = app
    root.obj = obj
    root.call_on_close(app.close)
    return app


def _jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return str(value)


def emit_json(data: Any) -> None:
    """Machine-readable output: one JSON document on stdout (typed results as their fields)."""
    sys.stdout.write(json.dumps(data, indent=2, default=_jsonable) + "\n")
    sys.stdout.flush()


# Errors in the caller's input: exit code 2 (other harness errors: 1).
_USAGE: tuple[type[HarnessError], ...] = (
    InvalidNameError, InvalidArgumentError, NotFoundError, ConfigError)


@contextmanager
def cli_errors(usage: tuple[type[HarnessError], ...] = _USAGE) -> Iterator[None]:
    """Turn harness errors into a one-line message on stderr and exit code 2 (``usage``) or 1."""
    try:
        yield
    except HarnessError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2 if isinstance(exc, usage) else 1) from exc
    except sqlite3.OperationalError as exc:
        if not _read_only_db(exc):
            raise
        err_console.print(f"[bold red]error:[/] the StateDB cannot be written here ({exc}). "
                          f"If this runs in the agent's sandbox: {_SANDBOXED}", highlight=False)
        raise typer.Exit(1) from exc


def run_cli(fn: Callable[[], T]) -> T:
    with cli_errors():
        return fn()


def run_async(call: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``call()`` on a new event loop with harness errors as exit codes; a WorkflowError
    raised (not returned) means refused before running: bad input (2)."""
    with cli_errors((*_USAGE, WorkflowError)):
        return asyncio.run(call())

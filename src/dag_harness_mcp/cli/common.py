"""Shared CLI plumbing: opening the app from global options, JSON output, errors."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import sys
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from dag_harness_mcp.errors import (
    ConfigError,
    HarnessError,
    InvalidArgumentError,
    InvalidNameError,
    NotFoundError,
    WorkflowError,
)
from dag_harness_mcp.service.app import HarnessApp

__all__ = [
    "STATUS_STYLE",
    "JsonFlag",
    "console",
    "emit_json",
    "err_console",
    "open_app",
    "plain",
    "run_async",
    "run_cli",
]

console = Console()
err_console = Console(stderr=True)

T = TypeVar("T")

# The ``--json`` flag every query command takes.
JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]

# Rich colours of run, role and wave statuses in every table.
STATUS_STYLE = {"completed": "green", "paused": "yellow", "failed": "red", "blocked": "red",
                "rejected": "red", "skipped": "magenta", "cancelled": "magenta",
                "running": "cyan", "pending": "white"}


def plain(value: object) -> str:
    """A data value for a Rich table cell or message: ``[...]`` in role names, references
    and errors is shown as written, never read as markup (``x[red]`` stays ``x[red]``)."""
    return escape("" if value is None else str(value))


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


def open_app(ctx: typer.Context) -> HarnessApp:
    """The HarnessApp for this invocation, built from the global options once.

    Refused inside the hooks' sandbox (``HARNESS_SANDBOX`` set), with who decides instead.
    """
    if os.environ.get("HARNESS_SANDBOX"):
        err_console.print(f"[bold red]error:[/] {_SANDBOXED}", highlight=False)
        raise typer.Exit(2)
    root = ctx.find_root()
    obj: dict[str, Any] = root.obj if isinstance(root.obj, dict) else {}
    app = obj.get("app")
    if isinstance(app, HarnessApp):
        return app
    with cli_errors():
        app = HarnessApp.open(overrides=obj.get("overrides", {}))
    obj["app"] = app
    root.obj = obj
    root.call_on_close(app.close)
    return app


def emit_json(data: Any) -> None:
    """Machine-readable output: one JSON document on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
    sys.stdout.flush()


@contextmanager
def cli_errors() -> Iterator[None]:
    """Turn harness errors into a one-line message on stderr and a non-zero exit."""
    try:
        yield
    except (InvalidNameError, InvalidArgumentError, NotFoundError, ConfigError) as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from exc
    except HarnessError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(1) from exc
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
    """Run ``call()`` on a new event loop with harness errors as exit codes; a
    WorkflowError raised (not returned) means refused before running: bad input (2)."""
    with cli_errors():
        try:
            return asyncio.run(call())
        except WorkflowError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
            raise typer.Exit(2) from exc

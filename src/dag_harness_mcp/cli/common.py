"""Shared CLI plumbing: opening the app from global options, JSON output, errors."""

from __future__ import annotations

import asyncio
import json
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


def open_app(ctx: typer.Context) -> HarnessApp:
    """The HarnessApp for this invocation, built from the global options once."""
    root = ctx.find_root()
    obj: dict[str, Any] = root.obj if isinstance(root.obj, dict) else {}
    app = obj.get("app")
    if isinstance(app, HarnessApp):
        return app
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
    except (InvalidNameError, NotFoundError, ConfigError) as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from exc
    except HarnessError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
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

"""The ``harness`` CLI in-process (Typer's CliRunner), wide enough that Rich never wraps."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner, Result

from dag_harness_mcp.cli.app import app

__all__ = ["harness", "harness_json"]

_RUNNER = CliRunner()


def harness(args: list[str]) -> Result:
    """Run ``harness ARGS``; stdout and stderr apart, tables 240 columns wide."""
    return _RUNNER.invoke(app, args, env={"COLUMNS": "240"})


def harness_json(args: list[str], exit_code: int = 0) -> Any:
    """Run ``harness ARGS`` (with ``--json`` among them) and parse its one JSON document."""
    result = harness(args)
    assert result.exit_code == exit_code, result.output
    return json.loads(result.stdout)

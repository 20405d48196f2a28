"""Fixtures: the real hook script against real SQLite files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dag_harness_mcp.db import SQLiteStateDB, StateDB
from support.hookrunner import HookRunner


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = tmp_path / "project"
    path.mkdir()
    return path.resolve()


@pytest.fixture
def hook(project: Path, tmp_path: Path) -> HookRunner:
    return HookRunner(project, tmp_path / "state" / "harness.db")


@pytest.fixture
def state(hook: HookRunner) -> Iterator[StateDB]:
    """The database the hooks write (opened after they created it)."""
    hook.run("SessionStart", source="startup")
    database = SQLiteStateDB(hook.db_path)
    yield database
    database.close()


@pytest.fixture
def app(hook: HookRunner, state: StateDB) -> Iterator[Any]:
    """A HarnessApp on the hooks' database, for granting capabilities as the CLI does."""
    from dag_harness_mcp.config import load_settings
    from dag_harness_mcp.service.app import HarnessApp

    settings = load_settings({"repo_root": hook.project, "db_path": hook.db_path}, environ={})
    harness = HarnessApp(settings=settings, db=state)
    yield harness

"""Fixtures for the end-to-end tests with the real Claude Code CLI (npm) and this plugin."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.claude_cli import require_claude
from support.claude_session import Session


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    require_claude()
    project = tmp_path / "project"
    project.mkdir()
    yield Session(project.resolve(), tmp_path / "home", tmp_path / "state" / "harness.db",
                  str(uuid.uuid4()))

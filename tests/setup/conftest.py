"""Fixtures for bootstrap/install tests: a project directory, a HOME, the real CLI."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from support.tree import Harness

HARNESS = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "harness"


def _fresh_dir(tmp_path: Path, name: str) -> Path:
    (tmp_path / name).mkdir()
    return (tmp_path / name).resolve()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return _fresh_dir(tmp_path, "project")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return _fresh_dir(tmp_path, "home")


@pytest.fixture
def harness(project: Path, home: Path) -> Harness:
    """Run the installed ``harness`` CLI in ``project`` with its own HOME (no terminal)."""

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        base = {k: v for k, v in os.environ.items()
                if not k.startswith(("HARNESS_", "GITLAB_", "CLAUDE_"))}
        base.update(HOME=str(home), COLUMNS="200", **(env or {}))
        return subprocess.run([str(HARNESS), *args], cwd=project, env=base, text=True,
                              capture_output=True, timeout=120, check=False,
                              stdin=subprocess.DEVNULL)

    return run

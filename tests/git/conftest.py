"""Real repositories for the git layer: a work repository with one commit and a bare origin."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.gitsh import git


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository on ``main`` with one commit holding ``README``, pushed to a bare ``origin``."""
    work = tmp_path / "repo"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    (work / "README").write_text("hello\n")
    git(work, "add", "README")
    git(work, "commit", "-q", "-m", "initial")
    git(tmp_path, "init", "-q", "--bare", "-b", "main", "origin.git")
    git(work, "remote", "add", "origin", str(tmp_path / "origin.git"))
    git(work, "push", "-q", "origin", "main")
    return work


@pytest.fixture
def origin(repo: Path) -> Path:
    return repo.parent / "origin.git"

"""CLI test fixtures: a box-up repository, synced, whose failing roles fail at once."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from support.boxup_repo import BoxUpRepo
from support.cli import harness
from support.gitsh import git


@pytest.fixture
def synced(tmp_path: Path) -> tuple[BoxUpRepo, list[str]]:
    """``BoxUpRepo`` with its settings committed in harness.yml (``repair_rounds: 0``: a
    failing role fails at once instead of pausing for an agent's repair), pushed, synced;
    and the global options every command gets."""
    repo = BoxUpRepo.create(tmp_path)
    values = repo.overrides()
    config = {"worktree_root": values["worktree_root"], "tests": values["tests"],
              "repair_rounds": 0}
    (repo.root / "harness.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    repo.commit_main("harness.yml")
    git(repo.root, "push", "--quiet", "origin", "main")
    args = ["--repo", str(repo.root), "--db", values["db_path"]]
    assert harness([*args, "sync"]).exit_code == 0
    return repo, args

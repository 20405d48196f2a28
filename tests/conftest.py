"""Shared fixtures: real SQLite files, real git repositories, settings per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from dag_harness_mcp.config import Settings, load_settings
from dag_harness_mcp.db import SQLiteStateDB, StateDB
from dag_harness_mcp.service.example import ExampleCheckout, prepare_example_checkout
from support.corpus import CorpusUnavailable, required_in_ci
from support.corpus import debops_collection as _debops_collection

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_REPO = ROOT / "examples" / "ansible-repo"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "harness.db"


@pytest.fixture
def db(db_path: Path) -> Iterator[StateDB]:
    database = SQLiteStateDB(db_path)
    yield database
    database.close()


@pytest.fixture
def settings_for(tmp_path: Path) -> object:
    """Build settings rooted at a repository, with state under ``tmp_path``."""

    def make(repo_root: Path, **overrides: object) -> Settings:
        values: dict[str, object] = {
            "repo_root": repo_root,
            "db_path": tmp_path / "state" / "harness.db",
            "worktree_root": tmp_path / "worktrees",
        }
        values.update(overrides)
        return load_settings(values, environ={})

    return make


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never read the developer's own harness or GitLab configuration."""
    for var in list(os.environ):
        if var.startswith("HARNESS_") or var.startswith("GITLAB_"):
            monkeypatch.delenv(var, raising=False)


@pytest.fixture
def example_checkout(tmp_path: Path) -> ExampleCheckout:
    """A fresh git checkout of examples/ansible-repo with a bare ``origin``."""
    return prepare_example_checkout(tmp_path / "example")


@pytest.fixture
def example_settings(example_checkout: ExampleCheckout, tmp_path: Path) -> Settings:
    """Settings rooted at the example checkout (its harness.yml applies), state under tmp."""
    return load_settings(
        {
            "repo_root": example_checkout.repo_root,
            "db_path": tmp_path / "state" / "harness.db",
            "worktree_root": tmp_path / "worktrees",
        },
        environ={},
    )


@pytest.fixture(scope="session")
def debops_collection() -> Path:
    """DebOps 3.3.2 as a collection (``.../ansible_collections/debops/debops``), read-only.

    Fetched by ``./dev setup`` into ``.tools/corpus``; missing, it is fetched here once
    (file-locked across workers). Unavailable: skipped, or failed when ``CI=true``.
    """
    try:
        return _debops_collection()
    except CorpusUnavailable as exc:
        if required_in_ci():
            pytest.fail(f"DebOps corpus missing in CI: {exc}")
        pytest.skip(f"DebOps corpus unavailable: {exc}")

"""Shared fixtures: real SQLite files, real git repositories, settings per test."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dag_harness_mcp.config import Settings, load_settings
from dag_harness_mcp.db import SQLiteStateDB, StateDB
from dag_harness_mcp.service.example import ExampleCheckout, prepare_example_checkout
from support.backends import (
    BACKENDS,
    POSTGRES_URL,
    state_db,  # the backend-parametrised StateDB, for every test
)
from support.corpus import CorpusUnavailable, required_in_ci
from support.corpus import debops_collection as _debops_collection

# pytest-xdist's workers start with COLUMNS=80 and LINES=24 in their environment, and a Rich
# Console made while COLUMNS is set keeps that width for good: the CLI's consoles (made when
# a test module imports the CLI, after this) would then ignore the 240 columns that
# support.cli asks for per call, and wrap tables that a serial run prints on one line.
for _name in ("COLUMNS", "LINES"):
    os.environ.pop(_name, None)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_REPO = ROOT / "examples" / "ansible-repo"


__all__ = ["state_db"]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """With ``CI=true`` a PostgreSQL test that skips fails: CI must not pass without running it."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.skipped and required_in_ci() and item.get_closest_marker("postgres"):
        report.outcome = "failed"
        report.longrepr = f"PostgreSQL test skipped in CI ({report.longrepr}); start the server"


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


@pytest.fixture(params=BACKENDS)
def backend_settings(
    request: pytest.FixtureRequest, settings_for: Callable[..., Settings]
) -> Iterator[Callable[..., Settings]]:
    """``settings_for`` on each backend: SQLite files, or PostgreSQL (StateDB, checkpoints
    and store) in a throw-away schema."""
    if request.param == "sqlite":
        yield settings_for
        return
    from support.pgschema import throwaway_schema

    with throwaway_schema("app") as schema:
        yield functools.partial(settings_for, postgres_url=POSTGRES_URL, postgres_schema=schema)


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

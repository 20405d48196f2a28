"""Test history and regressions through the service, over runs recorded in a real StateDB."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dag_harness_mcp.config import load_settings
from dag_harness_mcp.db.repos.suite_runs import CaseOutcome, SuiteRun
from dag_harness_mcp.errors import InvalidArgumentError, InvalidNameError, NotFoundError
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.quality import list_regressions
from dag_harness_mcp.service.quality import role_test_history as history
from dag_harness_mcp.service.roles import sync_roles
from support.rolerepo import RoleTree


@pytest.fixture
def app(tmp_path: Path) -> Iterator[HarnessApp]:
    tree = RoleTree(tmp_path / "repo")
    tree.role("common")
    tree.role("web")
    settings = load_settings({"repo_root": tree.root, "db_path": tmp_path / "h.db"}, environ={})
    with HarnessApp.open(settings) as opened:
        sync_roles(opened)
        for day, outcome in ((1, "passed"), (2, "failed")):
            opened.db.tests.record(SuiteRun(
                role_name="common", kind="pytest", status=outcome,
                started_at=f"2026-11-0{day}T00:00:00.000Z",
                finished_at=f"2026-11-0{day}T00:00:02.000Z",
                results=[CaseOutcome("t::one", outcome)]))
        yield opened


def test_history_is_newest_first_and_filtered_by_kind(app: HarnessApp) -> None:
    assert [r.status for r in history(app, "common")] == ["failed", "passed"]
    assert history(app, "common", kind="molecule") == []
    assert len(history(app, "common", limit=1)) == 1


def test_a_test_that_passed_then_failed_is_a_regression_of_its_role_only(
    app: HarnessApp,
) -> None:
    assert [r.test_name for r in list_regressions(app)] == ["t::one"]
    assert list_regressions(app, "web") == []


@pytest.mark.parametrize(("role", "kind", "error"), [
    ("nope", None, NotFoundError),
    ("../x", None, InvalidNameError),
    ("common", "unit", InvalidArgumentError),
])
def test_unknown_roles_unsafe_names_and_kinds_are_refused(
    app: HarnessApp, role: str, kind: str | None, error: type[Exception]
) -> None:
    with pytest.raises(error):
        history(app, role, kind=kind)

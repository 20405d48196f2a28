"""Test history and regressions of roles, read through the tests repository."""

from __future__ import annotations

from pydantic import BaseModel

from dag_harness_mcp.errors import InvalidArgumentError
from dag_harness_mcp.names import validate_role_name
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.roles import RecentTestRun

__all__ = ["TEST_KINDS", "Regression", "RoleTestRun", "list_regressions", "role_test_history"]

TEST_KINDS = ("molecule", "pytest", "syntax_check")


class RoleTestRun(RecentTestRun):
    role_name: str
    command: str | None


class Regression(BaseModel):
    """A test that passed before and fails now (``active``) or flips (``flaky``)."""

    id: int
    role_name: str
    kind: str
    test_name: str
    status: str
    failure_count: int
    flip_count: int
    first_failed_run_id: int | None
    last_failed_run_id: int | None
    last_passed_run_id: int | None
    detected_at: str
    updated_at: str


def role_test_history(
    app: HarnessApp, role: str, *, kind: str | None = None, limit: int = 20
) -> list[RoleTestRun]:
    """The role's test runs, newest first."""
    name = validate_role_name(role)
    app.db.roles.require(name)
    if kind is not None and kind not in TEST_KINDS:
        raise InvalidArgumentError("kind", kind, f"one of {', '.join(TEST_KINDS)}")
    if limit < 1:
        raise InvalidArgumentError("limit", limit, "must be 1 or more")
    rows = app.db.tests.history(name, kind=kind, limit=limit)
    return [RoleTestRun.model_validate(r) for r in rows]


def list_regressions(app: HarnessApp, role: str | None = None) -> list[Regression]:
    """Regressions of one role or all."""
    if role is not None:
        app.db.roles.require(validate_role_name(role))
    return [Regression.model_validate(r) for r in app.db.tests.active_regressions(role)]

"""Test history and regressions of roles, read through the tests repository."""

from __future__ import annotations

from typing import Any

from dag_harness_mcp.errors import ConfigError
from dag_harness_mcp.names import validate_role_name
from dag_harness_mcp.service.app import HarnessApp

__all__ = ["TEST_KINDS", "list_regressions", "test_history"]

TEST_KINDS = ("molecule", "pytest", "syntax_check")


def test_history(
    app: HarnessApp, role: str, *, kind: str | None = None, limit: int = 20
) -> list[dict[str, Any]]:
    """The role's test runs, newest first (counts, status, duration, command)."""
    name = validate_role_name(role)
    app.db.roles.require(name)
    if kind is not None and kind not in TEST_KINDS:
        raise ConfigError("kind", kind, f"one of {', '.join(TEST_KINDS)}")
    if limit < 1:
        raise ConfigError("limit", limit, "must be 1 or more")
    return app.db.tests.history(name, kind=kind, limit=limit)


# pytest would otherwise try to collect the function when a test imports it.
test_history.__test__ = False  # type: ignore[attr-defined]


def list_regressions(app: HarnessApp, role: str | None = None) -> list[dict[str, Any]]:
    """Tests that used to pass and now fail (or flip), for one role or all."""
    if role is not None:
        app.db.roles.require(validate_role_name(role))
    return app.db.tests.active_regressions(role)

"""What tests recorded: a role's test history and regressions, and a run's logs (the last
``tests.output_tail_bytes`` characters of each test command's output, and the errors its nodes
stopped with, whole: ``harness logs``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from dag_harness_mcp.errors import InvalidArgumentError, NotFoundError
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.roles import RecentTestRun, known_role
from dag_harness_mcp.service.run_types import execution_dict

__all__ = [
    "TEST_KINDS", "LogEntry", "Regression", "RoleTestRun", "execution_logs", "list_regressions",
    "role_test_history",
]

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
    name = known_role(app, role)
    if kind is not None and kind not in TEST_KINDS:
        raise InvalidArgumentError("kind", kind, f"one of {', '.join(TEST_KINDS)}")
    if limit < 1:
        raise InvalidArgumentError("limit", limit, "must be 1 or more")
    rows = app.db.tests.history(name, kind=kind, limit=limit)
    return [RoleTestRun.model_validate(r) for r in rows]


def list_regressions(app: HarnessApp, role: str | None = None) -> list[Regression]:
    """Regressions of one role or all."""
    if role is not None:
        known_role(app, role)
    return [Regression.model_validate(r) for r in app.db.tests.active_regressions(role)]


class LogEntry(BaseModel):
    """A test command's output (``cut``: only its end was kept) or a node's error."""

    node: str
    kind: Literal["output", "error"]
    status: str
    started_at: str | None
    output: str
    cut: bool = False
    test_run_id: int | None = None
    exit_code: int | None = None
    duration_ms: float | None = None
    command: str | None = None


def execution_logs(
    app: HarnessApp, execution_id: int, *, node: str | None = None
) -> list[LogEntry]:
    """The run's logs in the order they were written; ``node`` keeps one node's
    (``run_molecule``, ``run_pytest`` — or ``molecule``, ``pytest`` — or another, for its
    error)."""
    execution = execution_dict(app.db.executions.require(execution_id))
    if node is not None:
        from dag_harness_mcp.graph.builder import NODE_NAMES

        node = f"run_{node}" if node in ("molecule", "pytest") else node
        if node not in NODE_NAMES:
            raise NotFoundError(f"the box-up workflow has no node {node!r}; use one of "
                                f"{', '.join(NODE_NAMES)}")
    limit = app.settings.tests.output_tail_bytes
    logs: list[LogEntry] = []
    for run in app.db.tests.for_execution(execution_id):
        output = str(run["output_tail"] or "")
        if node is None or f"run_{run['kind']}" == node:
            logs.append(LogEntry(
                node=f"run_{run['kind']}", kind="output", test_run_id=run["id"],
                status=run["status"], exit_code=run["exit_code"],
                duration_ms=run["duration_ms"], command=run["command"],
                started_at=run["started_at"], output=output, cut=len(output) >= limit))
    logs += [LogEntry(node=row["node"], kind="error", status=row["status"],
                      started_at=row["started_at"], output=str(row["error"]))
             for row in app.db.executions.nodes(execution_id)
             if row["error"] and (node is None or row["node"] == node)]
    values = (execution.get("checkpoint_data") or {}).get("values") or {}
    failed_node = str(values.get("failed_node") or "")
    if execution["status"] == "failed" and execution.get("error") and (
        node is None or node == failed_node
    ) and not any(e.kind == "error" and e.node == failed_node for e in logs):
        logs.append(LogEntry(node=failed_node or "run", kind="error", status="failed",
                             started_at=execution.get("updated_at"),
                             output=str(execution["error"])))
    logs.sort(key=lambda entry: entry.started_at or "")
    return logs

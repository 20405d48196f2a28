"""What the commands of a run printed: the stored molecule and pytest output of each test
run, and the errors nodes stopped with (``harness logs``).

The test nodes keep the last ``tests.output_tail_bytes`` characters of each command's
output (8,000 by default); a node's error is kept whole. The bounded failure excerpt an
agent sees in ``get_execution`` is the repair digest's, not this.
"""

from __future__ import annotations

from typing import Any

from dag_harness_mcp.errors import NotFoundError
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.run_types import execution_dict

__all__ = ["execution_logs"]

_TEST_NODES = {"run_molecule": "molecule", "run_pytest": "pytest"}


def _node_names() -> tuple[str, ...]:
    from dag_harness_mcp.graph.builder import NODE_NAMES

    return tuple(NODE_NAMES)


def execution_logs(
    app: HarnessApp, execution_id: int, *, node: str | None = None
) -> list[dict[str, Any]]:
    """The run's logs in the order they were written, each ``{"node", "kind", ...}``.

    ``node`` keeps one node's (``run_molecule``, ``run_pytest`` — or ``molecule``,
    ``pytest`` — or any other node of the workflow, for its error).
    """
    execution = execution_dict(app.db.executions.require(execution_id))
    if node is not None:
        node = {v: k for k, v in _TEST_NODES.items()}.get(node, node)
        valid = _node_names()
        if node not in valid:
            raise NotFoundError(f"the box-up workflow has no node {node!r}; use one of "
                                f"{', '.join(valid)}")
    limit = app.settings.tests.output_tail_bytes
    logs: list[dict[str, Any]] = []
    for run in app.db.tests.for_execution(execution_id):
        name = f"run_{run['kind']}"
        if node is not None and name != node:
            continue
        output = str(run["output_tail"] or "")
        logs.append({
            "node": name, "kind": "output", "test_run_id": run["id"], "status": run["status"],
            "exit_code": run["exit_code"], "duration_ms": run["duration_ms"],
            "command": run["command"], "started_at": run["started_at"],
            "output": output, "cut": len(output) >= limit,
        })
    for row in app.db.executions.nodes(execution_id):
        if not row["error"] or (node is not None and row["node"] != node):
            continue
        logs.append({
            "node": row["node"], "kind": "error", "status": row["status"],
            "started_at": row["started_at"], "output": str(row["error"]), "cut": False,
        })
    values = (execution.get("checkpoint_data") or {}).get("values") or {}
    failed_node = str(values.get("failed_node") or "")
    if execution["status"] == "failed" and execution.get("error") and (
        node is None or node == failed_node
    ) and not any(e["kind"] == "error" and e["node"] == failed_node for e in logs):
        logs.append({
            "node": failed_node or "run", "kind": "error", "status": "failed",
            "started_at": execution.get("updated_at"), "output": str(execution["error"]),
            "cut": False,
        })
    logs.sort(key=lambda entry: str(entry["started_at"] or ""))
    return logs

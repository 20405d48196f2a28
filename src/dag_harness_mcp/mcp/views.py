"""What the tools show of the service layer's records: the fields an agent needs to decide
its next step, nothing it cannot use (internal ids, timestamps of bookkeeping, paths
derivable from a name, defaults). Details stay one call away (get_role, get_execution,
query_state). ``None`` members are dropped later for every answer (:func:`.registry.answer`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from dag_harness_mcp.mcp.registry import compact_json
from dag_harness_mcp.service.observability import AuditEntry, CostReport
from dag_harness_mcp.service.quality import Regression
from dag_harness_mcp.service.roles import Edge, RecentTestRun, Role, RoleDetail

__all__ = [
    "COST_ROWS_SHOWN", "DEPENDANTS_SHOWN", "audit_item", "checkpoint_item", "cost_view",
    "edge_item", "execution_item", "execution_view", "regression_item", "role_item", "role_view",
    "test_run_item",
]

DEPENDANTS_SHOWN = 20  # get_role's dependants; role_dependencies(reverse=true) pages them all
COST_ROWS_SHOWN = 30  # cost_report's newest rows; days narrows, query_state reads the rest
DETAILS_MAX = 200  # an audit entry's details, as compact JSON, shown up to this size
ERROR_MAX = 300  # an error message in a list item


def _clip(text: Any) -> Any:
    if not isinstance(text, str) or len(text) <= ERROR_MAX:
        return text
    return text[: ERROR_MAX - 1] + "…"


def _without(row: Mapping[str, Any], drop: Iterable[str]) -> dict[str, Any]:
    dropped = set(drop)
    return {k: v for k, v in row.items() if k not in dropped}


def role_item(role: Role) -> dict[str, Any]:
    """A role in a list: name, wave, its test kinds, description, and what is wrong with it."""
    tests = [kind for kind, has in (("molecule", role.has_molecule), ("pytest", role.has_pytest))
             if has]
    return {"name": role.name, "wave": role.wave, "tests": tests or None,
            "description": role.description or None, "pinned": role.wave_pinned or None,
            "parse_error": role.parse_error}


def edge_item(edge: Edge) -> dict[str, Any]:
    """A dependency edge: the role, how it is referenced (only when not by that name), its
    kind (only when not an in-repo role) and where the reference is."""
    return {"role": edge.role, "reference": edge.reference if edge.reference != edge.role else None,
            "kind": edge.kind if edge.kind != "role" else None, "source": edge.source,
            "file": edge.source_file}


def test_run_item(run: RecentTestRun) -> dict[str, Any]:
    """A test run: kind, status and counts, duration and the run it belongs to."""
    shown = {"id", "kind", "status", "passed", "failed", "exit_code", "duration_ms",
             "execution_id"}
    return run.model_dump(include=shown) | {"skipped": run.skipped or None}


def role_view(info: RoleDetail) -> dict[str, Any]:
    """One role (get_role): its list fields, path, edges, the first dependants with their count,
    worktree, links, last execution and recent test runs."""
    return role_item(info) | {
        "path": info.path, "dependencies": [edge_item(e) for e in info.dependencies],
        "dependants": info.dependants[:DEPENDANTS_SHOWN],
        "dependants_total": (len(info.dependants) if len(info.dependants) > DEPENDANTS_SHOWN
                             else None),
    } | info.model_dump(include={"worktree", "issue_url", "mr_url", "mr_state",
                                 "last_execution_id", "last_execution_status"}) | {
        "test_runs": [test_run_item(r) for r in info.test_runs]}


# Bookkeeping columns of an execution row no agent acts on (``pid`` stays in the full view:
# a running execution without one has lost its driver and needs resume_execution).
_EXECUTION_INTERNALS = ("thread_id", "workflow", "role_id", "checkpoint_id", "wave_run_id",
                        "started_at", "updated_at", "finished_at", "checkpoint_data")


def execution_item(row: Mapping[str, Any]) -> dict[str, Any]:
    """An execution in a list: id, role, status, where it stands, its error and MR."""
    result = row.get("result")
    if not isinstance(result, dict):
        result = {}
    return {
        "id": row["id"], "role": row.get("role_name"), "status": row.get("status"),
        "node": row.get("current_node"), "next": row.get("next_nodes") or None,
        "error": _clip(row.get("error")), "mr_url": result.get("mr_url"),
    }


def _node_item(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "node": row.get("node"), "status": row.get("status"),
        "attempt": row["attempt"] if (row.get("attempt") or 1) > 1 else None,
        "duration_ms": row.get("duration_ms"), "error": row.get("error"),
    }


def execution_view(data: Mapping[str, Any]) -> dict[str, Any]:
    """One execution (get_execution): the row without bookkeeping, per-node status, duration
    and error (node output stays in the StateDB: query_state on node_executions)."""
    out = _without(data, (*_EXECUTION_INTERNALS, "nodes"))
    if not out.get("breakpoints"):
        out.pop("breakpoints", None)
    if not out.get("auto_approve"):
        out.pop("auto_approve", None)
    result = out.get("result")
    if isinstance(result, dict):
        out["result"] = _without(result, ("durations", "execution_id", "role"))
    out["nodes"] = [_node_item(n) for n in data.get("nodes") or []]
    if "checkpoint_data" in data:
        out["state"] = data["checkpoint_data"]
    return out


def checkpoint_item(row: Mapping[str, Any]) -> dict[str, Any]:
    """A checkpoint of a run: step, the nodes that produced it, the nodes next."""
    return {
        "step": row.get("step"), "nodes": row.get("nodes") or None,
        "next": row.get("next") or None,
        "source": row.get("source") if row.get("source") not in ("loop", None) else None,
    }


def audit_item(entry: AuditEntry) -> dict[str, Any]:
    """An audit entry: when, who, what, on which entity; details when short (a longer one is
    ``details_chars`` long: query_state reads it)."""
    details = entry.details
    size = len(compact_json(details)) if details not in (None, {}, "") else 0
    return {
        "id": entry.id, "ts": entry.ts, "actor": entry.actor, "action": entry.action,
        "entity": f"{entry.entity_type}:{entry.entity_id}" if entry.entity_type else None,
        "details": details if 0 < size <= DETAILS_MAX else None,
        "details_chars": size if size > DETAILS_MAX else None,
    }


def regression_item(row: Regression) -> dict[str, Any]:
    """A regression: which test of which role, active or flaky, how often it failed or
    flipped, and the test run that last failed (test_history shows it)."""
    return {
        "role": row.role_name, "kind": row.kind, "test_name": row.test_name, "status": row.status,
        "failures": row.failure_count, "flips": row.flip_count,
        "last_failed_run": row.last_failed_run_id,
    }


def cost_view(report: CostReport) -> dict[str, Any]:
    """A cost report with its newest :data:`COST_ROWS_SHOWN` rows (``rows_total`` says how
    many there are when more) and the total over all of them."""
    out = report.model_dump()
    if len(report.rows) > COST_ROWS_SHOWN:
        out |= {"rows": out["rows"][:COST_ROWS_SHOWN], "rows_total": len(report.rows)}
    return out

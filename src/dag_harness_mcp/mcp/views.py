"""What the tools show of the service layer's records: the fields an agent needs to decide
its next step, nothing it cannot use (internal ids, timestamps of bookkeeping, paths
derivable from a name, defaults). Details stay one call away (get_role, get_execution,
query_state). ``None`` members are dropped later for every answer (:mod:`.answers`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from dag_harness_mcp.mcp.answers import compact_json

__all__ = [
    "COST_ROWS_SHOWN", "DEPENDANTS_SHOWN", "audit_item", "capability_item", "checkpoint_item",
    "cost_view", "edge_item",
    "execution_item", "execution_view", "regression_item", "role_item", "role_view",
    "session_item",
    "test_run_item",
]

DEPENDANTS_SHOWN = 20  # get_role's dependants; role_dependencies(reverse=true) pages them all
DETAILS_MAX = 200  # an audit entry's details, as compact JSON, shown up to this size
ERROR_MAX = 300  # an error message in a list item


def _clip(text: Any, limit: int = ERROR_MAX) -> Any:
    if not isinstance(text, str) or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


def _without(row: Mapping[str, Any], drop: Iterable[str]) -> dict[str, Any]:
    dropped = set(drop)
    return {k: v for k, v in row.items() if k not in dropped}


def _tests(row: Mapping[str, Any]) -> list[str] | None:
    kinds = [kind for kind in ("molecule", "pytest") if row.get(f"has_{kind}")]
    return kinds or None


def role_item(row: Mapping[str, Any]) -> dict[str, Any]:
    """A role in a list: name, wave, its test kinds, description, and what is wrong with it."""
    return {
        "name": row["name"], "wave": row.get("wave"), "tests": _tests(row),
        "description": row.get("description") or None,
        "pinned": True if row.get("wave_pinned") else None,
        "parse_error": row.get("parse_error"),
    }


def edge_item(row: Mapping[str, Any]) -> dict[str, Any]:
    """A dependency edge: the role, how it is referenced (only when not by that name), its
    kind (only when not an in-repo role) and where the reference is."""
    reference = row.get("reference")
    return {
        "role": row["role"],
        "reference": reference if reference != row["role"] else None,
        "kind": row.get("kind") if row.get("kind") != "role" else None,
        "source": row.get("source"), "file": row.get("source_file"),
    }


def test_run_item(row: Mapping[str, Any]) -> dict[str, Any]:
    """A test run: kind, status and counts, duration and the run it belongs to."""
    return {
        "id": row.get("id"), "kind": row.get("kind"), "status": row.get("status"),
        "passed": row.get("passed"), "failed": row.get("failed"),
        "skipped": row.get("skipped") or None, "exit_code": row.get("exit_code"),
        "duration_ms": row.get("duration_ms"), "execution_id": row.get("execution_id"),
    }


def role_view(info: Mapping[str, Any]) -> dict[str, Any]:
    """One role (get_role): its list fields, path, edges, the first dependants with their count,
    worktree, links, last execution and recent test runs."""
    dependants = list(info.get("dependants") or [])
    out = role_item(info)
    out.update(
        path=info.get("path"),
        dependencies=[edge_item(e) for e in info.get("dependencies") or []],
        dependants=dependants[:DEPENDANTS_SHOWN],
    )
    if len(dependants) > DEPENDANTS_SHOWN:
        out["dependants_total"] = len(dependants)
    out.update(_without(info, (
        "name", "path", "wave", "wave_pinned", "has_molecule", "has_pytest", "description",
        "parse_error", "status", "updated_at", "dependencies", "dependants", "test_runs")))
    out["test_runs"] = [test_run_item(r) for r in info.get("test_runs") or []]
    return out


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


def audit_item(row: Mapping[str, Any]) -> dict[str, Any]:
    """An audit entry: when, who, what, on which entity; details when short (a longer one is
    ``details_chars`` long: query_state reads it)."""
    details = row.get("details")
    size = len(compact_json(details)) if details not in (None, {}, "") else 0
    entity = row.get("entity_type")
    return {
        "id": row["id"], "ts": row.get("ts"), "actor": row.get("actor"),
        "action": row.get("action"),
        "entity": f"{entity}:{row.get('entity_id')}" if entity else None,
        "details": details if 0 < size <= DETAILS_MAX else None,
        "details_chars": size if size > DETAILS_MAX else None,
    }


def session_item(row: Mapping[str, Any]) -> dict[str, Any]:
    """An agent session: the row without paths and bookkeeping, zero counts left out."""
    out = _without(row, ("id", "transcript_path", "updated_at", "permission_mode", "source",
                         "cwd", "ended_at"))
    return {k: v for k, v in out.items() if v != 0}


def regression_item(row: Mapping[str, Any]) -> dict[str, Any]:
    """A regression: which test of which role, active or flaky, how often it failed or
    flipped, and the test run that last failed (test_history shows it)."""
    return {
        "role": row.get("role_name"), "kind": row.get("kind"), "test_name": row.get("test_name"),
        "status": row.get("status"), "failures": row.get("failure_count"),
        "flips": row.get("flip_count"), "last_failed_run": row.get("last_failed_run_id"),
    }


COST_ROWS_SHOWN = 30  # cost_report's newest rows; days narrows, query_state reads the rest


def cost_view(report: Mapping[str, Any]) -> dict[str, Any]:
    """A cost report with its newest :data:`COST_ROWS_SHOWN` rows (``rows_total`` says how
    many there are when more) and the total over all of them."""
    rows = list(report.get("rows") or [])
    out = _without(report, ("rows",))
    out["rows"] = rows[:COST_ROWS_SHOWN]
    if len(rows) > COST_ROWS_SHOWN:
        out["rows_total"] = len(rows)
    return out


def capability_item(row: Mapping[str, Any]) -> dict[str, Any]:
    """A capability context: what it allows, for whom, its state and expiry."""
    return _without(row, ("created_at", "revoked_at"))

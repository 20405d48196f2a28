"""What a run paused for repair asks of the agent, from the run's state alone: the
interrupt's payload, ``get_execution``'s ``repair`` field and the failure report agree."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dag_harness_mcp.runner.digest import TOTAL_BYTES, bound_digest

__all__ = ["NO_DECISION", "failure_digest", "logs_hint", "repair_request", "scaffold_request"]

# Interrupts resumed without a decision: the agent's edits in the worktree are the answer.
NO_DECISION = ("repair", "scaffold_tests")


def logs_hint(execution_id: int | None, kind: str | None = None) -> str:
    which = f" (the {kind} output)" if kind else ""
    return f"full output: `harness logs {execution_id}`{which}"


def failure_digest(state: Mapping[str, Any], *, total: int = TOTAL_BYTES) -> dict[str, Any]:
    """The digests of the kinds that failed, merged under one bound of ``total`` bytes."""
    entries: list[dict[str, str]] = []
    omitted = 0
    for kind in state.get("failed_kinds") or []:
        result = state.get(f"{kind}_result")
        digest = result.get("digest") if isinstance(result, Mapping) else None
        if not isinstance(digest, Mapping):  # (a run paused before digests existed)
            tail = str(result.get("output_tail") or "") if isinstance(result, Mapping) else ""
            entries.append({"kind": kind, "test": kind, "message": tail[-1500:] or "failed"})
            continue
        entries.extend(dict(e) for e in digest.get("failures") or [])
        omitted += int(digest.get("omitted") or 0)
    merged = bound_digest(entries, more=logs_hint(state.get("execution_id")), total=total)
    merged["omitted"] += omitted
    return merged


def repair_request(state: Mapping[str, Any]) -> dict[str, Any]:
    """The repair pause: where to edit, what failed, which round, and the next step."""
    execution_id = state.get("execution_id")
    done = int(state.get("repair_round") or 0)
    limit = int(state.get("repair_round_limit") or 0)
    return {
        "kind": "repair", "execution_id": execution_id, "role": state.get("role_name"),
        "round": done + 1, "rounds": limit, "worktree": state.get("worktree_path"),
        "role_dir": state.get("worktree_role_path"),
        "failed_kinds": list(state.get("failed_kinds") or []), "digest": failure_digest(state),
        "next_step": (
            "fix the role by editing files inside role_dir only (run its tests there if "
            f"useful), then resume_execution(execution_id={execution_id}) with no decision "
            "to re-test; never approve"
        ),
    }


def scaffold_request(state: Mapping[str, Any]) -> dict[str, Any]:
    """The pause of an untested role (``scaffold_tests: ask``): where to add tests."""
    execution_id = state.get("execution_id")
    return {
        "kind": "scaffold_tests", "execution_id": execution_id, "role": state.get("role_name"),
        "worktree": state.get("worktree_path"), "role_dir": state.get("worktree_role_path"),
        "missing": "a molecule scenario (molecule/<name>/molecule.yml) or a pytest suite "
                   "(tests/test_*.py)",
        "next_step": (
            "add a molecule scenario or a pytest suite inside role_dir only (run it there if "
            f"useful), then resume_execution(execution_id={execution_id}) with no decision; "
            "resuming without adding any goes on untested"
        ),
    }

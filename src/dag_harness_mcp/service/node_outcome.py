"""Whether a node did its job, read from what it wrote: a node that meets an expected
failure returns normally, so LangGraph calls it completed; the live view and history
show it failed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["node_outcome"]

_TEST_NODES = {"run_molecule": "molecule", "run_pytest": "pytest"}


def node_outcome(node: str, values: Mapping[str, Any]) -> tuple[str, str]:
    """``("failed", why)`` or ``("completed", what)`` for ``node``, from its writes or the
    state right after it ran (both hold the keys the node wrote)."""
    if values.get("failed_node") == node:
        errors = values.get("errors") or []
        return "failed", str(errors[-1]) if errors else f"{node} failed"
    kind = _TEST_NODES.get(node)
    result = values.get(f"{kind}_result") if kind else None
    if isinstance(result, dict) and result.get("status") not in (None, "passed"):
        failing = [str(name) for name in result.get("failing") or []]
        detail = f" ({', '.join(failing[:3])}{', ...' if len(failing) > 3 else ''})"
        return "failed", (f"{kind} {result.get('status')}: {result.get('failed', 0)} failed"
                          f"{detail if failing else ''}; `harness logs` shows the output")
    if isinstance(result, dict):
        return "completed", f"{kind} passed: {result.get('passed', 0)} passed"
    if node == "merge_test_results" and values.get("tests_passed") is False:
        kinds = ", ".join(str(k) for k in values.get("failed_kinds") or []) or "tests"
        return "failed", f"tests failed: {kinds}"
    return "completed", f"{node} completed"

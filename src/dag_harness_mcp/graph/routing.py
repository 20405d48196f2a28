"""Where the run goes next: pure functions of the state. A failed node goes to
``notify_failure``; the tests fan out with ``Send`` to the kinds a role has."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langgraph.types import Send

from dag_harness_mcp.graph.state import BoxUpRoleState

__all__ = [
    "TEST_NODES", "after", "failed", "route_after_approval", "route_after_tests", "route_recovery",
    "route_to_tests",
]

TEST_NODES = {"molecule": "run_molecule", "pytest": "run_pytest"}
FAILURE = "notify_failure"


def failed(state: BoxUpRoleState) -> bool:
    return bool(state.get("failed_node"))


def after(next_node: str) -> Callable[[BoxUpRoleState], str]:
    """The plain step to ``next_node``, or to ``notify_failure`` when the node failed."""

    def route(state: BoxUpRoleState) -> str:
        return FAILURE if failed(state) else next_node

    route.__name__ = f"to_{next_node}"
    return route


def kinds_of(state: BoxUpRoleState) -> list[str]:
    """The kinds of tests the role has, in a fixed order."""
    has = {"molecule": state.get("has_molecule_tests"), "pytest": state.get("has_pytest_tests")}
    return [kind for kind in TEST_NODES if has[kind]]


def _sends(state: BoxUpRoleState, kinds: list[str]) -> list[Send]:
    payload: dict[str, Any] = dict(state)
    return [Send(TEST_NODES[k], payload) for k in kinds]


def route_to_tests(state: BoxUpRoleState) -> list[Send] | str:
    """Both test nodes in parallel, one, or none (straight to the merge); an untested role
    first pauses once for the agent to add tests when ``scaffold_tests`` is 'ask'."""
    if failed(state):
        return FAILURE
    kinds = kinds_of(state)
    if kinds:
        return _sends(state, kinds)
    if state.get("scaffold_tests") == "ask" and not state.get("scaffold_asked"):
        return "scaffold_tests"
    return "merge_test_results"


def route_after_tests(state: BoxUpRoleState) -> list[Send] | str:
    """On to the deploy check, or (after a repair) every kind once more; when tests fail,
    one bounded recovery round (flakiness), then a repair pause while rounds remain, then
    the failure report."""
    if failed(state):
        return FAILURE
    if state.get("tests_passed"):
        if state.get("retest") == "all":
            return _sends(state, kinds_of(state)) or "validate_deploy"
        return "validate_deploy"
    if int(state.get("test_retries", 0)) < int(state.get("test_retry_limit", 0)):
        return "recovery"
    if state.get("tests_repairable", True) and (
        int(state.get("repair_round", 0)) < int(state.get("repair_round_limit", 0))
    ):
        return "repair"
    return FAILURE


def route_recovery(state: BoxUpRoleState) -> list[Send] | str:
    """Re-run only the kinds that failed (after a recovery round or the agent's repair)."""
    if failed(state):
        return FAILURE
    kinds = [k for k in kinds_of(state) if k in (state.get("failed_kinds") or [])]
    return _sends(state, kinds) if kinds else FAILURE


def route_after_approval(state: BoxUpRoleState) -> str:
    if failed(state):
        return FAILURE
    return "add_to_merge_train" if state.get("human_approved") else "report_summary"

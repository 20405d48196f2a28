"""The graph's pure parts: the snapshot reducer, routing, retry_on, breakpoint validation,
and the node guard's retry behaviour inside a real (small) LangGraph graph."""

from __future__ import annotations

import itertools
from typing import Annotated, Any, TypedDict

import pytest
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import RetryPolicy, Send

from dag_harness_mcp.errors import ForgeError, GitError, WorkflowError
from dag_harness_mcp.graph.builder import (
    NODE_NAMES,
    RETRIED_NODES,
    build_graph,
    compile_graph,
    route_after_approval,
    route_after_tests,
    route_recovery,
    route_to_tests,
)
from dag_harness_mcp.graph.nodes.decorator import NETWORK_RETRY, is_transient, node
from dag_harness_mcp.graph.state import BoxUpRoleState, keep_first, keep_last_n, merge_dicts

# -- keep_last_n -------------------------------------------------------------------


def test_keep_last_n_appends_lists_and_single_items_and_keeps_the_newest() -> None:
    reduce = keep_last_n(3)
    assert reduce(None, [1]) == [1]
    assert reduce([1, 2], 3) == [1, 2, 3]
    assert reduce([1, 2], [3, 4, 5]) == [3, 4, 5]
    assert reduce([1, 2, 3], [4]) == [2, 3, 4]
    assert reduce([1, 2], None) == [1, 2]
    assert reduce(None, None) == []


def test_keep_last_n_does_not_mutate_its_inputs() -> None:
    left, right = [1, 2], [3]
    keep_last_n(2)(left, right)
    assert (left, right) == ([1, 2], [3])


def test_keep_last_n_refuses_a_bound_below_one() -> None:
    with pytest.raises(ValueError, match="n >= 1"):
        keep_last_n(0)


class _Snaps(TypedDict, total=False):
    snaps: Annotated[list[int], keep_last_n(4)]


async def test_keep_last_n_bounds_a_channel_over_many_langgraph_steps() -> None:
    graph: StateGraph[_Snaps, None, _Snaps, _Snaps] = StateGraph(_Snaps)
    names = [f"n{i}" for i in range(7)]
    for i, name in enumerate(names):
        graph.add_node(name, lambda _s, i=i: {"snaps": [i]})
    graph.add_edge(START, names[0])
    for a, b in itertools.pairwise(names):
        graph.add_edge(a, b)
    graph.add_edge(names[-1], END)

    out = await graph.compile().ainvoke({"snaps": []})

    assert out["snaps"] == [3, 4, 5, 6]


def test_keep_first_and_merge_dicts() -> None:
    assert keep_first(None, "a") == "a"
    assert keep_first("a", "b") == "a"
    assert merge_dicts({"a": 1, "b": 1}, {"b": 2}) == {"a": 1, "b": 2}
    assert merge_dicts(None, None) == {}


# -- routing -------------------------------------------------------------------------


def _targets(route: Any) -> list[str]:
    return [s.node for s in route] if isinstance(route, list) else [route]


def test_tests_fan_out_to_the_kinds_the_role_has() -> None:
    both = route_to_tests({"has_molecule_tests": True, "has_pytest_tests": True})
    assert isinstance(both, list) and all(isinstance(s, Send) for s in both)
    assert _targets(both) == ["run_molecule", "run_pytest"]
    assert _targets(route_to_tests({"has_pytest_tests": True})) == ["run_pytest"]
    assert _targets(route_to_tests({"has_molecule_tests": True})) == ["run_molecule"]
    assert route_to_tests({}) == "merge_test_results"


def test_every_route_goes_to_notify_failure_once_a_node_failed() -> None:
    state: Any = {"failed_node": "create_worktree", "has_molecule_tests": True,
                  "tests_passed": True, "human_approved": True, "failed_kinds": ["molecule"]}
    for route in (route_to_tests, route_after_tests, route_recovery, route_after_approval):
        assert route(state) == "notify_failure"


def test_after_tests_passes_on_or_recovers_once_then_gives_up() -> None:
    assert route_after_tests({"tests_passed": True}) == "validate_deploy"
    failing: Any = {"tests_passed": False, "test_retry_limit": 1}
    assert route_after_tests({**failing, "test_retries": 0}) == "recovery"
    assert route_after_tests({**failing, "test_retries": 1}) == "notify_failure"
    assert route_after_tests({"tests_passed": False, "test_retry_limit": 0}) == "notify_failure"


def test_after_the_recovery_round_failing_tests_pause_for_repair_while_rounds_remain() -> None:
    failing = {"tests_passed": False, "test_retry_limit": 1, "test_retries": 1,
               "repair_round_limit": 2}
    assert route_after_tests({**failing, "repair_round": 0}) == "repair"
    assert route_after_tests({**failing, "repair_round": 1}) == "repair"
    assert route_after_tests({**failing, "repair_round": 2}) == "notify_failure"
    assert route_after_tests({**failing, "repair_round_limit": 0}) == "notify_failure"
    assert route_after_tests({**failing, "tests_repairable": False}) == "notify_failure"
    # a run from before the repair loop (no limit in its state) fails as it did
    assert route_after_tests({"tests_passed": False, "test_retry_limit": 0}) == "notify_failure"


def test_a_passing_retest_of_the_failed_kinds_runs_every_kind_once_more() -> None:
    both = {"has_molecule_tests": True, "has_pytest_tests": True, "tests_passed": True}
    sends = route_after_tests({**both, "retest": "all"})
    assert isinstance(sends, list)
    assert sorted(s.node for s in sends) == ["run_molecule", "run_pytest"]
    assert route_after_tests({**both, "retest": None}) == "validate_deploy"


def test_recovery_reruns_only_the_failed_kinds() -> None:
    state: Any = {"has_molecule_tests": True, "has_pytest_tests": True}
    assert _targets(route_recovery({**state, "failed_kinds": ["pytest"]})) == ["run_pytest"]
    assert _targets(route_recovery({**state, "failed_kinds": ["molecule", "pytest"]})) == [
        "run_molecule", "run_pytest"]
    assert route_recovery({**state, "failed_kinds": []}) == "notify_failure"


def test_approval_routes_to_the_train_or_the_rejected_summary() -> None:
    assert route_after_approval({"human_approved": True}) == "add_to_merge_train"
    assert route_after_approval({"human_approved": False}) == "report_summary"


# -- retry_on ----------------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 404, 409, 429, 500, 503, None])
def test_a_forge_error_is_never_retried_by_the_graph(status: int | None) -> None:
    # The forge retried its 429/5xx/dropped connections already (forge/retry.py).
    assert not is_transient(ForgeError("refused", status))


@pytest.mark.parametrize(("stderr", "returncode", "transient"), [
    ("fatal: unable to access 'https://x/': Could not resolve host: x", 128, True),
    ("error: RPC failed; HTTP 503 curl 22", 1, True),
    ("fatal: the remote end hung up unexpectedly", 128, True),
    ("timed out after 120s and was killed", -9, True),
    ("! [rejected] main -> main (non-fast-forward)", 1, False),
    ("fatal: 'origin' does not appear to be a git repository", 128, False),
    ("remote: HTTP Basic: Access denied; error: 403", 128, False),
])
def test_git_errors_are_transient_only_for_network_trouble(
    stderr: str, returncode: int, transient: bool
) -> None:
    assert is_transient(GitError(["push"], returncode, stderr)) is transient


def test_plain_errors_are_not_transient_but_timeouts_and_connections_are() -> None:
    assert not is_transient(ValueError("bad"))
    assert not is_transient(WorkflowError("bad"))
    assert is_transient(TimeoutError())
    assert is_transient(ConnectionResetError())


def test_exactly_the_network_nodes_carry_the_explicit_retry_policy() -> None:
    graph = build_graph()
    retried = {name for name, spec in graph.nodes.items() if spec.retry_policy}
    assert retried == set(RETRIED_NODES) == {"push_branch"}  # the forge retries its own
    for name in RETRIED_NODES:
        assert graph.nodes[name].retry_policy == NETWORK_RETRY
    assert NETWORK_RETRY.retry_on is is_transient


def _flaky_graph(errors: list[BaseException]) -> tuple[Any, list[int]]:
    """One guarded node that raises ``errors`` in turn, then succeeds; and its attempts."""
    policy = RetryPolicy(initial_interval=0.01, max_interval=0.02, max_attempts=3,
                         jitter=False, retry_on=is_transient)
    attempts: list[int] = []

    @node("call_forge", retry=policy)
    async def call_forge(state: Any, runtime: Runtime[Any]) -> dict[str, Any]:
        attempts.append(1)
        if len(attempts) <= len(errors):
            raise errors[len(attempts) - 1]
        return {"status": "created"}

    graph: StateGraph[BoxUpRoleState, None, BoxUpRoleState, BoxUpRoleState] = StateGraph(
        BoxUpRoleState
    )
    graph.add_node("call_forge", call_forge, retry_policy=policy)
    graph.add_edge(START, "call_forge")
    graph.add_edge("call_forge", END)
    return graph.compile(), attempts


_OFFLINE = "fatal: unable to access 'https://x/': Could not resolve host: x"


async def test_a_transient_failure_is_retried_and_then_succeeds() -> None:
    graph, attempts = _flaky_graph([GitError(["push"], 128, _OFFLINE), ConnectionResetError()])

    out = await graph.ainvoke({"status": "running"})

    assert (out["status"], len(attempts)) == ("created", 3)
    assert not out.get("failed_node")


@pytest.mark.parametrize("status", [404, 503])
async def test_a_forge_error_fails_the_node_on_the_first_attempt(status: int) -> None:
    graph, attempts = _flaky_graph([ForgeError("no", status)])

    out = await graph.ainvoke({"status": "running"})

    assert (out["status"], len(attempts)) == ("running", 1)
    assert out["failed_node"] == "call_forge"
    assert out["errors"] == [f"call_forge: no (HTTP {status})"]


async def test_transient_failures_past_the_attempts_fail_the_node_naming_them() -> None:
    graph, attempts = _flaky_graph([GitError(["push"], 128, _OFFLINE)] * 3)

    out = await graph.ainvoke({"status": "running"})

    assert len(attempts) == 3
    assert out["failed_node"] == "call_forge"
    assert out["errors"] == [f"call_forge: git push failed (128): {_OFFLINE} (after 3 attempts)"]


# -- compile_graph breakpoints ---------------------------------------------------------


def test_compile_refuses_an_unknown_breakpoint_listing_the_valid_nodes() -> None:
    with pytest.raises(WorkflowError) as info:
        compile_graph(None, interrupt_before=["create_mr", "deploy_now"])
    message = str(info.value)
    assert "deploy_now" in message and "create_mr," not in message.split(";")[0]
    assert "valid nodes: " + ", ".join(NODE_NAMES) in message


def test_compile_sets_the_requested_breakpoints() -> None:
    graph = compile_graph(None, interrupt_before=["create_mr", "human_approval"])
    assert list(graph.interrupt_before_nodes) == ["create_mr", "human_approval"]
    assert compile_graph(None).interrupt_before_nodes == []


# -- test commands and the drawn graph ---------------------------------------------------


def test_test_commands_substitute_role_paths_and_python() -> None:
    import sys
    from pathlib import Path

    from dag_harness_mcp.graph.nodes.testing import test_command

    template = ["{python}", "-m", "pytest", "{role_dir}/tests", "--role={role}",
                "--root={worktree}"]
    argv = test_command(template, role="web/nginx", role_dir=Path("/w/roles/web/nginx"),
                        worktree=Path("/w"))
    assert argv == [sys.executable, "-m", "pytest", "/w/roles/web/nginx/tests", "--role=web/nginx",
                    "--root=/w"]


@pytest.mark.parametrize(("argv", "expected"), [
    (["pytest", "-q"], True),
    (["/venv/bin/python", "-m", "pytest"], True),
    (["env", "PYTEST_DISABLE_PLUGIN_AUTOLOAD=1", "python", "-m", "pytest"], True),
    (["uv", "run", "py.test"], True),
    (["molecule", "test"], False),
    (["make", "test"], False),
])
def test_pytest_is_recognised_behind_wrappers_to_ask_for_junit(
    argv: list[str], expected: bool
) -> None:
    from dag_harness_mcp.graph.nodes.testing import _is_pytest

    assert _is_pytest(argv) is expected


def test_the_drawn_graph_shows_every_node_and_the_parallel_test_edges() -> None:
    from dag_harness_mcp.graph.builder import graph_mermaid

    text = graph_mermaid()
    for name in NODE_NAMES:
        assert name in text
    assert "create_worktree -.-> run_molecule" in text
    assert "create_worktree -.-> run_pytest" in text

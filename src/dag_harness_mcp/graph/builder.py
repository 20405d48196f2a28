"""The box-up-role graph: nodes, edges, retry policies; compile and draw it
(docs/architecture.md, "The workflow", draws the flow). Where the run goes next is a pure
function of the state: a failed node goes to ``notify_failure``; the tests fan out with
``Send`` to the kinds a role has."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.store.base import BaseStore
from langgraph.types import Send

from dag_harness_mcp.errors import WorkflowError
from dag_harness_mcp.graph import nodes as n
from dag_harness_mcp.graph.nodes.decorator import NETWORK_RETRY
from dag_harness_mcp.graph.state import BoxUpRoleState, NodeContext, kinds_of

__all__ = [
    "NODE_NAMES", "TEST_NODES", "after", "build_graph", "compile_graph", "failed", "graph_mermaid",
    "initial_state", "route_after_approval", "route_after_tests", "route_recovery",
    "route_to_tests",
]

# In workflow order; a node function's __name__ is its node name (graph/nodes/decorator.py).
_NODES: tuple[Any, ...] = (
    n.validate_role, n.analyze_deps, n.check_reverse_deps, n.create_worktree, n.run_molecule,
    n.run_pytest, n.merge_test_results, n.recovery, n.repair, n.scaffold_tests,
    n.validate_deploy, n.create_commit, n.push_branch, n.create_issue, n.create_mr,
    n.human_approval, n.add_to_merge_train, n.report_summary, n.notify_failure,
)
NODE_NAMES: tuple[str, ...] = tuple(fn.__name__ for fn in _NODES)
RETRIED_NODES: tuple[str, ...] = ("push_branch",)  # the forge retries its own requests
TEST_NODES = {"molecule": "run_molecule", "pytest": "run_pytest"}
FAILURE = "notify_failure"

# Straight steps: node -> next node, unless the node failed.
_CHAIN = (
    ("validate_role", "analyze_deps"),
    ("analyze_deps", "check_reverse_deps"),
    ("check_reverse_deps", "create_worktree"),
    ("validate_deploy", "create_commit"),
    ("create_commit", "push_branch"),
    ("push_branch", "create_issue"),
    ("create_issue", "create_mr"),
    ("create_mr", "human_approval"),
    ("add_to_merge_train", "report_summary"),
)
_TEST_TARGETS = ["run_molecule", "run_pytest", "merge_test_results", FAILURE]
_TO_TESTS = [*_TEST_TARGETS, "scaffold_tests"]


def failed(state: BoxUpRoleState) -> bool:
    return bool(state.get("failed_node"))


def after(next_node: str) -> Callable[[BoxUpRoleState], str]:
    """The plain step to ``next_node``, or to ``notify_failure`` when the node failed."""

    def route(state: BoxUpRoleState) -> str:
        return FAILURE if failed(state) else next_node

    route.__name__ = f"to_{next_node}"
    return route


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


def build_graph() -> StateGraph[BoxUpRoleState, NodeContext, BoxUpRoleState, BoxUpRoleState]:
    """The uncompiled workflow (``StateGraph(BoxUpRoleState, context_schema=NodeContext)``)."""
    graph: StateGraph[BoxUpRoleState, NodeContext, BoxUpRoleState, BoxUpRoleState] = StateGraph(
        BoxUpRoleState, context_schema=NodeContext
    )
    for fn in _NODES:
        retried = fn.__name__ in RETRIED_NODES
        graph.add_node(fn.__name__, fn, retry_policy=NETWORK_RETRY if retried else None)
    graph.add_edge(START, "validate_role")
    for source, target in _CHAIN:
        graph.add_conditional_edges(source, after(target), [target, FAILURE])
    graph.add_conditional_edges("create_worktree", route_to_tests, _TO_TESTS)
    graph.add_conditional_edges("scaffold_tests", route_to_tests, _TEST_TARGETS)
    graph.add_edge("run_molecule", "merge_test_results")
    graph.add_edge("run_pytest", "merge_test_results")
    graph.add_conditional_edges(
        "merge_test_results", route_after_tests,
        ["validate_deploy", "recovery", "repair", "run_molecule", "run_pytest", FAILURE],
    )
    graph.add_conditional_edges("recovery", route_recovery, ["run_molecule", "run_pytest", FAILURE])
    graph.add_conditional_edges("repair", route_recovery, ["run_molecule", "run_pytest", FAILURE])
    graph.add_conditional_edges(
        "human_approval", route_after_approval, ["add_to_merge_train", "report_summary", FAILURE]
    )
    graph.add_conditional_edges("report_summary", after(END), [END, FAILURE])
    graph.add_edge(FAILURE, END)
    return graph


def compile_graph(
    checkpointer: BaseCheckpointSaver[Any] | None,
    *,
    store: BaseStore | None = None,
    interrupt_before: Sequence[str] = (),
) -> CompiledStateGraph[BoxUpRoleState, NodeContext, BoxUpRoleState, BoxUpRoleState]:
    """Compile with ``checkpointer`` (needed for ``interrupt()`` and resume) and breakpoints."""
    unknown = [b for b in interrupt_before if b not in NODE_NAMES]
    if unknown:
        raise WorkflowError(
            f"unknown breakpoint node(s) {', '.join(unknown)}; valid nodes: {', '.join(NODE_NAMES)}"
        )
    return build_graph().compile(
        checkpointer=checkpointer, store=store, interrupt_before=list(interrupt_before) or None,
        name="box-up-role",
    )


def initial_state(
    role: str, *, execution_id: int, thread_id: str, repo_root: str
) -> BoxUpRoleState:
    """The input of a new run."""
    return {
        "role_name": role,
        "execution_id": execution_id,
        "thread_id": thread_id,
        "repo_root": str(repo_root),
        "status": "running",
        "errors": [],
        "state_snapshots": [],
        "node_durations": {},
        "test_retries": 0,
    }


def graph_mermaid() -> str:
    """The compiled graph as Mermaid (no checkpointer needed)."""
    return build_graph().compile(name="box-up-role").get_graph().draw_mermaid()

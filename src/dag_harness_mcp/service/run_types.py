"""What the runner service hands back: progress events, run results, node outcomes, the
workflow seam, breakpoints and process liveness. No LangGraph import at module level."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from dag_harness_mcp.config import Settings
from dag_harness_mcp.errors import WorkflowError

if TYPE_CHECKING:
    from dag_harness_mcp.forge.base import Forge
    from dag_harness_mcp.graph.state import NodeContext, WorkflowDeps
    from dag_harness_mcp.service.app import HarnessApp

__all__ = [
    "ProgressEvent", "RunResult", "WorkflowSpec", "execution_dict", "json_or", "node_outcome",
    "pid_alive", "repair_of", "resolve_breakpoints", "workflow_deps", "workflow_mermaid",
]


@dataclass
class ProgressEvent:
    """One node started, completed, failed or was interrupted."""

    execution_id: int
    node: str
    status: str  # 'started' | 'completed' | 'failed' | 'interrupted'
    step: int
    total: int | None
    message: str


@dataclass
class RunResult:
    """Where a run stands after start/resume/cancel returned."""

    execution_id: int
    thread_id: str
    role: str
    status: str  # running | paused | completed | failed | rejected | cancelled
    next_nodes: list[str] = field(default_factory=list)
    interrupt: dict[str, Any] | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    issue_url: str | None = None
    mr_url: str | None = None
    # the role has no molecule scenario and no pytest suite: only the syntax check ran
    untested: bool = False
    # how the run started, e.g. how it made its branch ("worktree recreated from main ...")
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class WorkflowSpec:
    """The graph a runner drives: ``compile(checkpointer, store, interrupt_before)``,
    ``initial_state(role, execution_id=, thread_id=, repo_root=)`` and
    ``make_context(app, forge, execution_id, thread_id, auto_approve)``, its runtime
    context; :meth:`box_up_role` is the product's workflow."""

    name: str
    node_names: tuple[str, ...]
    compile: Callable[[Any, Any, Sequence[str]], Any]
    initial_state: Callable[..., Mapping[str, Any]]
    make_context: Callable[..., Any]
    expected_steps: int | None = None
    # box-up checks before a run starts: already boxed up and unchanged, dependency order
    guards_box_ups: bool = False

    @classmethod
    def box_up_role(cls) -> WorkflowSpec:
        from dag_harness_mcp.graph.builder import NODE_NAMES, compile_graph, initial_state
        from dag_harness_mcp.graph.state import NodeContext

        def make_context(app: HarnessApp, forge: Forge, execution_id: int, thread_id: str,
                         auto_approve: bool) -> NodeContext:
            return NodeContext(workflow_deps(app), forge, execution_id, thread_id, auto_approve)

        return cls(
            name="box-up-role",
            node_names=NODE_NAMES,
            compile=lambda saver, store, bps: compile_graph(
                saver, store=store, interrupt_before=bps),
            initial_state=initial_state,
            make_context=make_context,
            # the happy path: every node but recovery, repair, scaffold_tests, notify_failure
            expected_steps=len(NODE_NAMES) - 4,
            guards_box_ups=True,
        )


def workflow_deps(app: HarnessApp) -> WorkflowDeps:
    """What the graph's nodes may use of ``app``: settings, four repositories, audit, sync."""
    from dag_harness_mcp.graph.state import WorkflowDeps
    from dag_harness_mcp.service.roles import sync_roles

    db = app.db
    return WorkflowDeps(
        settings=app.settings, roles=db.roles, tests=db.tests, worktrees=db.worktrees,
        capabilities=db.capabilities, audit=app.audit, sync_roles=partial(sync_roles, app),
    )


def workflow_mermaid() -> str:
    """The compiled box-up-role graph as a Mermaid flowchart."""
    from dag_harness_mcp.graph.builder import graph_mermaid

    return graph_mermaid()


def resolve_breakpoints(
    settings: Settings,
    requested: Sequence[str] | None,
    *,
    valid: Sequence[str] | None = None,
) -> list[str]:
    """The nodes a run pauses before: ``requested`` (``--breakpoints a,b``), else
    ``settings.breakpoints`` when ``HARNESS_BREAKPOINTS=true``; an unknown node is a
    :class:`WorkflowError` listing the valid ones."""
    if valid is None:
        from dag_harness_mcp.graph.builder import NODE_NAMES

        valid = NODE_NAMES
    names = tuple(valid)
    if requested is None:
        chosen = list(settings.breakpoints) if settings.breakpoints_enabled else []
    else:
        chosen = [part.strip() for item in requested for part in item.split(",") if part.strip()]
    unknown = [b for b in chosen if b not in names]
    if unknown:
        raise WorkflowError(
            f"unknown breakpoint node(s): {', '.join(unknown)}; valid nodes: {', '.join(names)}"
        )
    return list(dict.fromkeys(chosen))


def pid_alive(pid: int | None) -> bool:
    """Whether process ``pid`` exists and is not a zombie (psutil: Linux and macOS)."""
    if pid is None or pid <= 0:
        return False
    import psutil

    try:
        return psutil.Process(pid).status() not in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:  # exists, but not ours to inspect
        return True


def json_or(text: Any, default: Any) -> Any:
    """``text`` parsed as JSON, or ``default`` when it is empty or not JSON."""
    if text is None or text == "":
        return default
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return default


def execution_dict(row: Mapping[str, Any], *, with_data: bool = True) -> dict[str, Any]:
    """An execution row with its JSON columns parsed."""
    out = dict(row)
    out["next_nodes"] = json_or(row.get("next_nodes"), [])
    out["breakpoints"] = json_or(row.get("breakpoints"), [])
    out["result"] = json_or(row.get("result"), None)
    out["auto_approve"] = bool(row.get("auto_approve"))
    if with_data:
        out["checkpoint_data"] = json_or(row.get("checkpoint_data"), None)
    else:
        out.pop("checkpoint_data", None)
    return out


def repair_of(execution: dict[str, Any]) -> dict[str, Any] | None:
    """What an execution paused at ``repair`` or ``scaffold_tests`` asks the agent (from its
    stored state), else None."""
    from dag_harness_mcp.runner.digest import repair_request, scaffold_request

    nodes = execution.get("next_nodes") or []
    values = (execution.get("checkpoint_data") or {}).get("values")
    if execution.get("status") != "paused" or not isinstance(values, dict):
        return None
    if "repair" in nodes:
        return repair_request(values)
    if "scaffold_tests" in nodes:
        return scaffold_request(values)
    return None


_TEST_NODES = {"run_molecule": "molecule", "run_pytest": "pytest"}


def node_outcome(node: str, values: Mapping[str, Any]) -> tuple[str, str]:
    """``("failed", why)`` or ``("completed", what)`` for ``node``, from its writes or the
    state right after it ran: a node that meets an expected failure (failing tests, an
    error its decorator caught) returns normally, and LangGraph would call it completed."""
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

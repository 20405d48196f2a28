"""A small real LangGraph workflow for runner tests: fan-out, join, a real interrupt,
a node that can wait on a file (to be killed there) and one that can fail on demand.

Also a command line, so a test can resume a run in a NEW process:
``python tinyflow.py DB_PATH REPO_ROOT resume ID [--approve|--reject]`` prints the
RunResult as JSON; ``... start ROLE`` starts one.
"""

from __future__ import annotations

import asyncio
import json
import operator
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Send, interrupt

from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.run_types import WorkflowSpec

NODES = ("prepare", "left", "right", "join", "gate", "approve", "finish")


class TinyState(TypedDict, total=False):
    role_name: str
    execution_id: int
    thread_id: str
    repo_root: str
    status: str
    summary: dict[str, Any]
    log: Annotated[list[str], operator.add]
    errors: Annotated[list[str], operator.add]
    approved: bool


@dataclass
class TinyContext:
    app: Any
    forge: Any
    execution_id: int
    thread_id: str
    auto_approve: bool = False


def _marker(state: TinyState, name: str) -> Path:
    return Path(state["repo_root"]) / name


async def prepare(state: TinyState) -> dict[str, Any]:
    return {"log": ["prepare"]}


def fan_out(state: TinyState) -> list[Send]:
    return [Send("left", state), Send("right", state)]


async def left(state: TinyState) -> dict[str, Any]:
    return {"log": ["left"]}


async def right(state: TinyState) -> dict[str, Any]:
    return {"log": ["right"]}


async def join(state: TinyState) -> dict[str, Any]:
    return {"log": ["join"]}


async def gate(state: TinyState) -> dict[str, Any]:
    """Fails while ``fail-gate`` exists; blocks while ``hold-gate`` exists (writes ``at-gate``)."""
    if _marker(state, "fail-gate").exists():
        raise RuntimeError("gate refused: remove fail-gate")
    hold = _marker(state, "hold-gate")
    if hold.exists():
        _marker(state, "at-gate").write_text("1")
        while hold.exists():
            await asyncio.sleep(0.02)
    return {"log": ["gate"]}


async def approve(state: TinyState, runtime: Runtime[TinyContext]) -> dict[str, Any]:
    if runtime.context.auto_approve:
        return {"approved": True, "log": ["auto"]}
    answer = interrupt({"question": f"approve {state['role_name']}?", "kind": "approval"})
    return {"approved": bool(answer.get("approved")), "log": [f"answer:{answer.get('comment')}"]}


async def finish(state: TinyState) -> dict[str, Any]:
    status = "completed" if state.get("approved") else "rejected"
    return {"status": status, "summary": {"role": state["role_name"], "status": status,
                                          "log": list(state.get("log") or [])}}


def build() -> StateGraph[TinyState, TinyContext, TinyState, TinyState]:
    graph: StateGraph[TinyState, TinyContext, TinyState, TinyState] = StateGraph(
        TinyState, context_schema=TinyContext
    )
    graph.add_node("prepare", prepare)
    graph.add_node("left", left)
    graph.add_node("right", right)
    graph.add_node("join", join)
    graph.add_node("gate", gate)
    graph.add_node("approve", approve)
    graph.add_node("finish", finish)
    graph.add_edge(START, "prepare")
    graph.add_conditional_edges("prepare", fan_out, ["left", "right"])
    graph.add_edge("left", "join")
    graph.add_edge("right", "join")
    graph.add_edge("join", "gate")
    graph.add_edge("gate", "approve")
    graph.add_edge("approve", "finish")
    graph.add_edge("finish", END)
    return graph


def _compile(checkpointer: Any, store: Any, interrupt_before: Sequence[str]) -> Any:
    return build().compile(
        checkpointer=checkpointer, store=store, interrupt_before=list(interrupt_before) or None
    )


def _initial(role: str, *, execution_id: int, thread_id: str, repo_root: str) -> TinyState:
    return {"role_name": role, "execution_id": execution_id, "thread_id": thread_id,
            "repo_root": repo_root, "status": "running", "log": [], "errors": []}


SPEC = WorkflowSpec(
    name="tiny",
    node_names=NODES,
    compile=_compile,
    initial_state=_initial,
    make_context=TinyContext,
    expected_steps=len(NODES),
)


async def _main(argv: list[str]) -> int:
    from dag_harness_mcp.config import load_settings
    from dag_harness_mcp.service.runs import Runner

    db_path, repo_root, command, target, *flags = argv
    settings = load_settings({"repo_root": repo_root, "db_path": db_path}, environ={})
    app = HarnessApp.open(settings)
    try:
        async with Runner(app, workflow=SPEC, forge=object()) as runner:  # type: ignore[arg-type]
            if command == "start":
                result = await runner.start(target, breakpoints=flags or None)
            else:
                approved = True if "--approve" in flags else False if "--reject" in flags else None
                result = await runner.resume(int(target), approved=approved, comment="from cli")
    finally:
        app.close()
    sys.stdout.write(json.dumps(asdict(result)) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(_main(sys.argv[1:])))

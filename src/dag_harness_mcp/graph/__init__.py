"""The box-up-role workflow on LangGraph: state, nodes, routing and the graph builder.
Importing it imports LangGraph: front ends and hooks import it lazily, when a run starts."""

from dag_harness_mcp.graph.builder import (
    NODE_NAMES,
    build_graph,
    compile_graph,
    graph_mermaid,
    initial_state,
)
from dag_harness_mcp.graph.context import NodeContext, WorkflowDeps
from dag_harness_mcp.graph.state import BoxUpRoleState, keep_last_n

__all__ = [
    "NODE_NAMES", "BoxUpRoleState", "NodeContext", "WorkflowDeps", "build_graph", "compile_graph",
    "graph_mermaid", "initial_state", "keep_last_n",
]

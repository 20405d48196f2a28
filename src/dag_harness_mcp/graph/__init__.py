"""The box-up-role workflow on LangGraph: state, nodes, routing and the graph builder.

Importing this package imports LangGraph: front ends and hooks must import it
lazily, only when a run starts.
"""

from dag_harness_mcp.graph.builder import (
    NODE_NAMES,
    build_graph,
    compile_graph,
    graph_mermaid,
    initial_state,
)
from dag_harness_mcp.graph.context import NodeContext
from dag_harness_mcp.graph.state import BoxUpRoleState, keep_last_n

__all__ = [
    "NODE_NAMES",
    "BoxUpRoleState",
    "NodeContext",
    "build_graph",
    "compile_graph",
    "graph_mermaid",
    "initial_state",
    "keep_last_n",
]

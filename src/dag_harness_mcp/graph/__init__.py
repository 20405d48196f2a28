"""The box-up-role workflow on LangGraph: state, nodes, routing and the graph builder.
Its modules import LangGraph: front ends and hooks import them lazily, when a run starts."""

"""The checkpointer: LangGraph's saver bridged to the StateDB (imports LangGraph)."""

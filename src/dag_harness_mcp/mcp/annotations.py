"""The tool annotation presets, set truthfully per tool.

A read-only tool says only that (and that it stays in the StateDB): the protocol gives
``destructiveHint`` and ``idempotentHint`` meaning only when ``readOnlyHint`` is false, and
every byte of ``tools/list`` costs every session's context.
"""

from __future__ import annotations

from mcp.types import ToolAnnotations

__all__ = ["EXTERNAL_WRITE", "LOCAL_CREATE", "LOCAL_DELETE", "LOCAL_WRITE", "READ"]

# Reads the StateDB only.
READ = ToolAnnotations(read_only_hint=True, open_world_hint=False)
# Writes the StateDB only; repeating it gives the same state.
LOCAL_WRITE = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
# Adds a new record to the StateDB each time.
LOCAL_CREATE = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
)
# Removes or stops something in the StateDB.
LOCAL_DELETE = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
)
# Runs the workflow: git pushes, forge issues and MRs, merges; not idempotent.
EXTERNAL_WRITE = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True
)

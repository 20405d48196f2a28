"""Runner progress events as MCP progress notifications (strictly increasing values)."""

from __future__ import annotations

from dag_harness_mcp.mcp.context import Ctx
from dag_harness_mcp.service.run_types import ProgressEvent

__all__ = ["ProgressReporter"]


class ProgressReporter:
    """``on_progress`` for the runner: one notification per node start and end.

    ``progress`` is the count of finished nodes (a start adds a half), bumped so
    that it always increases as the protocol requires; ``total`` is the happy
    path's node count when known.
    """

    def __init__(self, ctx: Ctx) -> None:
        self._ctx = ctx
        self._last = 0.0

    async def __call__(self, event: ProgressEvent) -> None:
        value = float(event.step) + (0.5 if event.status == "started" else 0.0)
        value = max(value, self._last + 0.01)
        self._last = value
        total = float(event.total) if event.total is not None else None
        if total is not None and value > total:
            total = None
        await self._ctx.report_progress(value, total, event.message)

"""The one place a node's failure becomes state: timing, snapshots and the failure route.

A node body raises on failure. :func:`node` turns a definitive failure (a
harness, OS or timeout error) into ``errors`` + ``failed_node`` so routing
sends the run to ``notify_failure``; a transient failure the node's retry
policy still covers is re-raised so LangGraph retries it; interrupts and
cancellation always pass through untouched.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from langgraph.errors import GraphBubbleUp
from langgraph.runtime import Runtime
from langgraph.types import RetryPolicy

from dag_harness_mcp.clock import utc_now
from dag_harness_mcp.errors import HarnessError
from dag_harness_mcp.graph.context import NodeContext
from dag_harness_mcp.graph.state import BoxUpRoleState
from dag_harness_mcp.runner.children import ChildRegistry, execution_children, owner_of

__all__ = ["NodeFn", "Update", "children_of", "in_thread", "node"]

log = logging.getLogger(__name__)

Update = dict[str, Any]
Body = Callable[[BoxUpRoleState, Runtime[NodeContext]], Awaitable[Update]]
NodeFn = Callable[[BoxUpRoleState, Runtime[NodeContext]], Awaitable[Update]]

_DEFINITIVE = (HarnessError, OSError, TimeoutError, ValueError)


def _retry_will_handle(policy: RetryPolicy | None, exc: Exception, attempt: int) -> bool:
    if policy is None or attempt >= policy.max_attempts:
        return False
    retry_on = policy.retry_on
    if isinstance(retry_on, type):
        return isinstance(exc, retry_on)
    if isinstance(retry_on, Sequence):
        return isinstance(exc, tuple(retry_on))
    return bool(retry_on(exc))


def _snapshot(name: str, started: float, ok: bool, update: Update) -> Update:
    ms = round((time.perf_counter() - started) * 1000, 3)
    snap: dict[str, Any] = {"node": name, "at": utc_now(), "ok": ok, "ms": ms}
    return {"state_snapshots": [snap], "node_durations": {name: ms}, **update}


def node(name: str, *, retry: RetryPolicy | None = None) -> Callable[[Body], NodeFn]:
    """Wrap a node body with timing, a state snapshot and the failure route."""

    def wrap(body: Body) -> NodeFn:
        async def run(state: BoxUpRoleState, runtime: Runtime[NodeContext]) -> Update:
            started = time.perf_counter()
            try:
                update = await body(state, runtime)
            except GraphBubbleUp:
                raise
            except _DEFINITIVE as exc:
                info = runtime.execution_info
                attempt = info.node_attempt if info is not None else 1
                if _retry_will_handle(retry, exc, attempt):
                    log.warning("%s: attempt %d failed, retrying: %s", name, attempt, exc)
                    raise
                log.error("%s failed: %s", name, exc)
                message = f"{name}: {exc}"
                if attempt > 1:
                    message += f" (after {attempt} attempts)"
                return _snapshot(
                    name, started, False, {"errors": [message], "failed_node": name}
                )
            return _snapshot(name, started, True, update)

        run.__name__ = name
        run.__qualname__ = name
        run.__doc__ = body.__doc__
        return run

    return wrap


async def in_thread(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a blocking call (StateDB, filesystem walks) off the event loop."""
    return await asyncio.to_thread(fn, *args, **kwargs)


def children_of(ctx: NodeContext) -> tuple[ChildRegistry, str]:
    """Where a node records the commands it starts (``run_process(children=...)``), so a
    resume after ``kill -9`` can stop the ones still running."""
    return execution_children(ctx.app.settings.database_path), owner_of(ctx.execution_id)

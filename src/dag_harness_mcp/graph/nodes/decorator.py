"""The node decorator and the graph's retries. A node body raises on failure; :func:`node`
turns a definitive failure into ``errors`` + ``failed_node`` (routing then goes to
``notify_failure``), re-raises one its retry policy still covers, and times and snapshots
every node.

The graph retries only git over the network (``push_branch``), never a forge call: the
forge retries its own HTTP requests (``forge/retry.py``), so the forge nodes carry no
retry policy and :func:`is_transient` refuses every :class:`ForgeError`, which the forge
has retried already or which is definitive. LangGraph's default ``retry_on`` retries
almost everything, so :data:`NETWORK_RETRY` passes :func:`is_transient` explicitly."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence

from langgraph.errors import GraphBubbleUp
from langgraph.runtime import Runtime
from langgraph.types import RetryPolicy

from dag_harness_mcp.clock import utc_now
from dag_harness_mcp.errors import ForgeError, GitError, HarnessError
from dag_harness_mcp.graph.state import BoxUpRoleState, NodeContext

__all__ = ["NETWORK_RETRY", "NodeFn", "Update", "is_transient", "node"]

log = logging.getLogger(__name__)

Update = BoxUpRoleState  # a node returns the keys it changes
NodeFn = Callable[[BoxUpRoleState, Runtime[NodeContext]], Awaitable[Update]]

_DEFINITIVE = (HarnessError, OSError, TimeoutError, ValueError)
_TRANSIENT_GIT = re.compile(
    r"could not resolve host|connection (timed out|refused|reset)|timed out|early eof"
    r"|the remote end hung up|rpc failed|unable to access|temporary failure"
    r"|network is unreachable|http (429|5\d\d)|error: 5\d\d|returned error: 5\d\d"
    r"|could not read from remote repository|index\.lock': file exists",
    re.IGNORECASE,
)


def is_transient(exc: BaseException) -> bool:
    """True for failures a node retry can fix: git network trouble and timeouts."""
    if isinstance(exc, ForgeError):
        return False
    if isinstance(exc, GitError):
        if exc.returncode == -9:  # run_git killed it after its timeout
            return True
        return bool(_TRANSIENT_GIT.search(exc.stderr or ""))
    return isinstance(exc, TimeoutError | ConnectionError)


NETWORK_RETRY = RetryPolicy(
    initial_interval=0.5,
    backoff_factor=2.0,
    max_interval=10.0,
    max_attempts=3,
    jitter=True,
    retry_on=is_transient,
)


def _retry_will_handle(policy: RetryPolicy | None, exc: Exception, attempt: int) -> bool:
    if policy is None or attempt >= policy.max_attempts:
        return False
    retry_on = policy.retry_on
    if isinstance(retry_on, type):
        return isinstance(exc, retry_on)
    if isinstance(retry_on, Sequence):
        return isinstance(exc, tuple(retry_on))
    return bool(retry_on(exc))


def node(name: str, *, retry: RetryPolicy | None = None) -> Callable[[NodeFn], NodeFn]:
    """Wrap a node body with timing, a state snapshot and the failure route."""

    def wrap(body: NodeFn) -> NodeFn:
        async def run(state: BoxUpRoleState, runtime: Runtime[NodeContext]) -> Update:
            started = time.perf_counter()
            ok = True
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
                after = f" (after {attempt} attempts)" if attempt > 1 else ""
                ok, update = False, {"errors": [f"{name}: {exc}{after}"], "failed_node": name}
            ms = round((time.perf_counter() - started) * 1000, 3)
            snap = {"node": name, "at": utc_now(), "ok": ok, "ms": ms}
            return {"state_snapshots": [snap], "node_durations": {name: ms}, **update}

        run.__name__ = run.__qualname__ = name
        run.__doc__ = body.__doc__
        return run

    return wrap

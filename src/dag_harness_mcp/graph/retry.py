"""The graph's retries: only git over the network (``push_branch``), never a forge call.

One owner per call path: the forge retries its own HTTP requests (``forge/retry.py``),
so the forge nodes carry no retry policy and :func:`is_transient` refuses every
:class:`ForgeError`, which the forge has retried already or which is definitive.
LangGraph's default ``retry_on`` retries almost everything, so the policy passes
:func:`is_transient` explicitly.
"""

from __future__ import annotations

import re

from langgraph.types import RetryPolicy

from dag_harness_mcp.errors import ForgeError, GitError

__all__ = ["NETWORK_RETRY", "is_transient"]

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

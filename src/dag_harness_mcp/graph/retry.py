"""Which failures a node may retry: transient ones only, never a 4xx.

LangGraph's default ``retry_on`` retries almost everything (a GitLab 404
included), so every policy here passes :func:`is_transient` explicitly.
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
    """True for failures a retry can fix: forge 429/5xx/dropped, git network trouble, timeouts."""
    if isinstance(exc, ForgeError):
        return exc.transient
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

"""The one choke point every GitLab request goes through.

python-gitlab is synchronous, so each request runs in a worker thread with a timeout.
Its own retries are off on every call (``NO_CLIENT_RETRY``): :func:`retry_async` retries
whole idempotent operations instead. Failures become :class:`ForgeHTTPError` with the
status, the body and ``Retry-After``, the token scrubbed, raised without the
python-gitlab cause (whose text may echo the server).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from dag_harness_mcp.forge.retry import ForgeHTTPError, HttpRetry, parse_retry_after, retry_async

if TYPE_CHECKING:
    import gitlab
    import requests

__all__ = ["NO_CLIENT_RETRY", "GitLabCalls"]

T = TypeVar("T")
REDACTED = "[REDACTED]"

# Passed to every python-gitlab call: no 429 sleeps inside the client.
NO_CLIENT_RETRY: dict[str, Any] = {"obey_rate_limit": False, "retry_transient_errors": False}

_HINTS = {
    401: "check GITLAB_TOKEN: it must be a valid token with the `api` scope",
    403: "the token's user lacks permission on the project (Developer role or higher)",
    404: "check HARNESS_GITLAB_PROJECT (path or id) and GITLAB_URL",
    409: "it conflicts with an existing object",
    429: "GitLab is rate limiting this token; wait and retry",
}


class GitLabCalls:
    """A python-gitlab client whose calls run in threads, time out, and retry by policy."""

    def __init__(self, url: str, token: str, *, timeout: float, policy: HttpRetry) -> None:
        import gitlab
        import requests

        self.timeout = timeout
        self.policy = policy
        self._token = token
        self._local = threading.local()
        session = requests.Session()
        session.hooks["response"].append(self._remember)
        self.gl = gitlab.Gitlab(url, private_token=token, timeout=timeout,
                                retry_transient_errors=False, session=session)

    def scrub(self, text: object) -> str:
        """``text`` as a string with the token replaced."""
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        value = str(text)
        return value.replace(self._token, REDACTED) if self._token else value

    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._local.last = (response.status_code, response.headers.get("Retry-After"))

    async def call(self, what: str, fn: Callable[[gitlab.Gitlab], T]) -> T:
        """One attempt of ``fn(gl)`` in a worker thread; failures become ForgeHTTPError."""
        return await asyncio.to_thread(self._attempt, what, fn)

    async def retrying(self, what: str, operation: Callable[[], Awaitable[T]]) -> T:
        """Run an idempotent operation (made of :meth:`call` steps) under the retry policy."""
        return await retry_async(operation, self.policy, what=f"GitLab {what}")

    def _attempt(self, what: str, fn: Callable[[gitlab.Gitlab], T]) -> T:
        import gitlab.exceptions
        import requests

        self._local.last = None
        try:
            return fn(self.gl)
        except gitlab.exceptions.GitlabError as exc:
            error = self._http_error(what, exc.response_code, exc.error_message, exc.response_body)
        except requests.exceptions.Timeout:
            error = ForgeHTTPError(
                f"GitLab {what} timed out after {self.timeout:g}s; GitLab may be slow or"
                " unreachable (raise gitlab_timeout if this persists)"
            )
        except (requests.exceptions.ConnectionError,
                requests.exceptions.ChunkedEncodingError) as exc:
            error = ForgeHTTPError(
                f"GitLab {what} lost its connection ({type(exc).__name__}: "
                f"{self.scrub(exc)[:300]}); check GITLAB_URL and the network"
            )
        # Raised without the python-gitlab/requests cause: its text may carry server echoes.
        raise error from None

    def _http_error(
        self, what: str, status: int | None, message: object, body: bytes | None
    ) -> ForgeHTTPError:
        retry_after = None
        last = getattr(self._local, "last", None)
        if last is not None and last[0] == status:
            retry_after = parse_retry_after(last[1])
        text = " ".join(self.scrub(message).split())[:500]
        hint = _HINTS.get(status or 0) or (
            "GitLab rejected the request" if status and status < 500 else "GitLab failed"
        )
        return ForgeHTTPError(f"GitLab {what} failed: {text}; {hint}", status,
                              self.scrub(body)[:2000] if body is not None else text,
                              retry_after=retry_after)

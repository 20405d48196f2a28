"""The forge's HTTP retries: the one owner of retrying a forge call.

An operation raises :class:`ForgeHTTPError` and :func:`retry_async` decides: 429 waits
``Retry-After`` (capped) when the server sent one; 5xx, timeouts and dropped
connections (``status=None``) back off exponentially with jitter; any other status
fails at once. A logical call makes at most ``max_retries + 1`` attempts and an
attempt stops at its first failed request, so a forge that fails every request gets
exactly ``max_retries + 1`` of them. The graph never retries a :class:`ForgeError`
(``graph/nodes/decorator.py``), so no other layer multiplies that figure.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TypeVar

from dag_harness_mcp.errors import ForgeError

__all__ = ["ForgeHTTPError", "HttpRetry", "parse_retry_after", "retry_async"]

log = logging.getLogger(__name__)
T = TypeVar("T")
_RNG = random.Random()


class ForgeHTTPError(ForgeError):
    """A forge call failed at the HTTP level; ``retry_after`` is the server's hint (seconds)."""

    def __init__(
        self, message: str, status: int | None = None, body: str | None = None, *,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status, body)
        self.retry_after = retry_after


@dataclass(frozen=True)
class HttpRetry:
    """How many times to retry a forge call and how long to wait; defaults suit GitLab."""

    max_retries: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0

    def delay(self, error: ForgeError, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``attempt + 1``."""
        retry_after = error.retry_after if isinstance(error, ForgeHTTPError) else None
        if error.status == 429 and retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        ceiling = min(self.max_delay, self.base_delay * (2.0**attempt))
        # "Equal jitter": never zero, never more than the exponential ceiling.
        return ceiling / 2 + (rng if rng is not None else _RNG).uniform(0, ceiling / 2)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` in seconds (delta-seconds, or an HTTP-date counted from ``now``);
    None when absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        seconds = max(0.0, when.timestamp() - (time.time() if now is None else now))
    return seconds if seconds >= 0 else None


async def retry_async(
    operation: Callable[[], Awaitable[T]],
    policy: HttpRetry,
    *,
    what: str,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Run ``operation`` until it succeeds, fails permanently or retries run out; it is
    re-run from its start, so it must be idempotent (look up again before creating)."""
    attempt = 0
    while True:
        try:
            return await operation()
        except ForgeError as exc:
            if not exc.transient or attempt >= policy.max_retries:
                if exc.transient and attempt > 0:
                    raise ForgeHTTPError(
                        f"{what} still failing after {attempt + 1} attempts: {exc};"
                        " check the forge's status and retry later",
                        exc.status,
                        exc.body,
                    ) from exc
                raise
            wait = policy.delay(exc, attempt)
            log.warning(
                "%s failed (%s); retry %d of %d in %.2fs",
                what, exc, attempt + 1, policy.max_retries, wait,
            )
            attempt += 1
            await sleep(wait)

"""HttpRetry and retry_async: exponential backoff with jitter, Retry-After, bounds, fail-fast."""

from __future__ import annotations

import random

import pytest

from dag_harness_mcp.errors import ForgeError
from dag_harness_mcp.forge.retry import (
    ForgeHTTPError,
    HttpRetry,
    parse_retry_after,
    retry_async,
)

POLICY = HttpRetry(max_retries=6, base_delay=1.0, max_delay=16.0, max_retry_after=60.0)


def test_backoff_doubles_with_equal_jitter_and_is_capped() -> None:
    error = ForgeHTTPError("boom", 503)
    rng = random.Random(7)
    for attempt in range(8):
        ceiling = min(16.0, 2.0**attempt)
        waits = {POLICY.delay(error, attempt, rng) for _ in range(200)}
        assert all(ceiling / 2 <= w <= ceiling for w in waits)
        assert len(waits) > 100  # jittered, not a fixed value


def test_retry_after_is_used_for_429_and_capped() -> None:
    assert POLICY.delay(ForgeHTTPError("slow down", 429, retry_after=7), 0) == 7
    assert POLICY.delay(ForgeHTTPError("slow down", 429, retry_after=3600), 0) == 60.0
    # 429 without Retry-After, or Retry-After on a 503: ordinary backoff.
    assert 0.5 <= POLICY.delay(ForgeHTTPError("slow down", 429), 0) <= 1.0
    assert 4.0 <= POLICY.delay(ForgeHTTPError("down", 503, retry_after=40), 3) <= 8.0


NOW = 1445412470.0  # Wed, 21 Oct 2015 07:27:50 GMT


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("5", 5.0), (" 2 ", 2.0), ("0", 0.0), (None, None), ("-1", None), ("soon", None),
     ("Wed, 21 Oct 2015 07:28:00 GMT", 10.0), ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0)],
)
def test_retry_after_header_parsing(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == seconds


async def run(errors: list[ForgeError], policy: HttpRetry) -> tuple[list[float], int, object]:
    """Fail with ``errors`` in turn, then succeed; the waits asked for and the attempts."""
    waits: list[float] = []
    attempts = 0

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def operation() -> str:
        nonlocal attempts
        attempts += 1
        if attempts <= len(errors):
            raise errors[attempts - 1]
        return "done"

    try:
        result: object = await retry_async(operation, policy, what="op", sleep=sleep)
    except ForgeError as exc:
        result = exc
    return waits, attempts, result


async def test_transient_failures_are_retried_with_growing_waits() -> None:
    errors: list[ForgeError] = [ForgeHTTPError("x", 502), ForgeHTTPError("timeout"),
                                ForgeHTTPError("x", 503), ForgeHTTPError("x", 429, retry_after=9)]
    waits, attempts, result = await run(errors, POLICY)
    assert (attempts, result) == (5, "done")
    assert 0.5 <= waits[0] <= 1 and 1 <= waits[1] <= 2 and 2 <= waits[2] <= 4
    assert waits[3] == 9


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 409, 422])
async def test_other_client_errors_are_not_retried(status: int) -> None:
    waits, attempts, result = await run([ForgeHTTPError("no", status, "body")], POLICY)
    assert (waits, attempts) == ([], 1)
    assert isinstance(result, ForgeError) and (result.status, result.body) == (status, "body")


async def test_retries_stop_at_the_bound_with_status_and_body() -> None:
    policy = HttpRetry(max_retries=2, base_delay=0.0)
    waits, attempts, result = await run([ForgeHTTPError("x", 503, "down")] * 5, policy)
    assert (len(waits), attempts) == (2, 3)
    assert isinstance(result, ForgeError) and (result.status, result.body) == (503, "down")
    assert "after 3 attempts" in str(result)

"""Settings and a fast retry policy for forge tests against the fake GitLab."""

from __future__ import annotations

from pathlib import Path

from dag_harness_mcp.forge.retry import RetryPolicy

from .fake_gitlab import TOKEN

__all__ = ["FAST", "PROJECT", "gitlab_settings"]

PROJECT = "infra/ansible"
# Tiny backoff so fault tests finish quickly; Retry-After is still honoured (capped at 5 s).
FAST = RetryPolicy(max_retries=4, base_delay=0.01, max_delay=0.05, max_retry_after=5.0)


def gitlab_settings(
    tmp_path: Path, url: str, token: str = TOKEN, **extra: object
) -> dict[str, object]:
    values: dict[str, object] = {
        "repo_root": tmp_path,
        "db_path": tmp_path / "state" / "harness.db",
        "forge": "gitlab",
        "gitlab_url": url,
        "gitlab_token": token,
        "gitlab_project": PROJECT,
        "gitlab_timeout": 0.5,
        "gitlab_max_retries": 4,
    }
    values.update(extra)
    return values

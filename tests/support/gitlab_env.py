"""Settings, a fast retry policy and forge constructors for tests against the fake GitLab."""

from __future__ import annotations

from pathlib import Path

from dag_harness_mcp.forge import ForgeRecords
from dag_harness_mcp.forge.gitlab import GitLabForge
from dag_harness_mcp.forge.local import LocalForge
from dag_harness_mcp.forge.retry import HttpRetry
from dag_harness_mcp.service.app import HarnessApp

from .fake_gitlab import TOKEN

__all__ = ["FAST", "PROJECT", "gitlab_forge", "gitlab_settings", "local_forge", "records_of"]

PROJECT = "infra/ansible"
# Tiny backoff so fault tests finish quickly; Retry-After is still honoured (capped at 5 s).
FAST = HttpRetry(max_retries=4, base_delay=0.01, max_delay=0.05, max_retry_after=5.0)


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


def records_of(app: HarnessApp) -> ForgeRecords:
    return ForgeRecords(app.db.forge, app.db.transaction, app.audit)


def gitlab_forge(app: HarnessApp, retry: HttpRetry | None = FAST) -> GitLabForge:
    return GitLabForge(app.settings, records_of(app), retry=retry)


def local_forge(app: HarnessApp) -> LocalForge:
    return LocalForge(app.settings, records_of(app))

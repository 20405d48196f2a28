"""Fixtures of the forge tests: a fake GitLab on 127.0.0.1 and apps pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dag_harness_mcp.config import load_settings
from dag_harness_mcp.forge.gitlab import GitLabForge
from dag_harness_mcp.forge.retry import RetryPolicy
from dag_harness_mcp.service.app import HarnessApp
from support.fake_gitlab import TOKEN, FakeGitLab

PROJECT = "infra/ansible"
FAST = RetryPolicy(max_retries=4, base_delay=0.01, max_delay=0.05, max_retry_after=5.0)


@pytest.fixture
def fake_gitlab() -> Iterator[FakeGitLab]:
    with FakeGitLab(projects=(PROJECT,)) as server:
        yield server


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


@pytest.fixture
def gitlab_app(tmp_path: Path, fake_gitlab: FakeGitLab) -> Iterator[HarnessApp]:
    settings = load_settings(gitlab_settings(tmp_path, fake_gitlab.url), environ={})
    app = HarnessApp.open(settings, actor="test", source="test")
    yield app
    app.close()


@pytest.fixture
def forge(gitlab_app: HarnessApp) -> GitLabForge:
    return GitLabForge(gitlab_app, policy=FAST)

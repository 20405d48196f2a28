"""Fixtures of the forge tests: a fake GitLab on 127.0.0.1 and apps pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dag_harness_mcp.config import load_settings
from dag_harness_mcp.forge.gitlab import GitLabForge
from dag_harness_mcp.service.app import HarnessApp
from support.fake_gitlab import FakeGitLab
from support.gitlab_env import PROJECT, gitlab_forge, gitlab_settings


@pytest.fixture
def fake_gitlab() -> Iterator[FakeGitLab]:
    with FakeGitLab(projects=(PROJECT,)) as server:
        yield server


@pytest.fixture
def gitlab_app(tmp_path: Path, fake_gitlab: FakeGitLab) -> Iterator[HarnessApp]:
    settings = load_settings(gitlab_settings(tmp_path, fake_gitlab.url), environ={})
    app = HarnessApp.open(settings, actor="test", source="test")
    yield app
    app.close()


@pytest.fixture
def forge(gitlab_app: HarnessApp) -> GitLabForge:
    return gitlab_forge(gitlab_app)

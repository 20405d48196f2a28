"""Fixtures for box-up runs of the real graph: a real role repository with a bare origin,
a StateDB synced from it, and a Runner with the real local forge."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.roles import sync_roles
from dag_harness_mcp.service.runs import Runner
from support.boxup_repo import BoxUpRepo


@pytest.fixture
def boxup(tmp_path: Path) -> BoxUpRepo:
    return BoxUpRepo.create(tmp_path)


@pytest.fixture
def box_app(boxup: BoxUpRepo) -> Iterator[HarnessApp]:
    app = HarnessApp.open(boxup.settings())
    sync_roles(app)
    yield app
    app.close()


@pytest.fixture
async def box_runner(box_app: HarnessApp) -> AsyncIterator[Runner]:
    async with Runner(box_app) as runner:
        yield runner

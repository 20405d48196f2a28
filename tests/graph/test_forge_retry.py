"""One retry owner per call path, counted by the fake GitLab through the real graph.

A box-up of role ``db`` runs the real graph (real git, push to the bare origin) with the
GitLab forge against the fake GitLab. ``create_issue``'s first request is the label
list, so every request the server sees on that route belongs to that one logical
forge call: the forge owns its retries (``gitlab_max_retries + 1`` attempts) and the
graph adds none.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise

import pytest

from dag_harness_mcp.forge.gitlab import GitLabForge
from dag_harness_mcp.forge.retry import HttpRetry
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.roles import sync_roles
from dag_harness_mcp.service.run_types import RunResult
from dag_harness_mcp.service.runs import Runner
from support.boxup_repo import BoxUpRepo
from support.fake_gitlab import TOKEN, FakeGitLab, Fault
from support.gitlab_env import PROJECT, records_of

MAX_RETRIES = 3


@pytest.fixture
def gitlab_box(boxup: BoxUpRepo) -> Iterator[tuple[FakeGitLab, HarnessApp]]:
    """The fake GitLab and an app whose forge is GitLab there, roles synced."""
    with FakeGitLab(projects=(PROJECT,)) as server, HarnessApp.open(boxup.settings(
        forge="gitlab", gitlab_url=server.url, gitlab_token=TOKEN, gitlab_project=PROJECT,
        gitlab_timeout=5.0, gitlab_max_retries=MAX_RETRIES,
    )) as app:
        sync_roles(app)
        yield server, app


async def box_up_db(app: HarnessApp) -> RunResult:
    # The settings' retry count with a test-sized backoff (Retry-After still honoured).
    retry = HttpRetry(max_retries=app.settings.gitlab_max_retries, base_delay=0.01,
                      max_delay=0.05, max_retry_after=5.0)
    forge = GitLabForge(app.settings, records_of(app), retry=retry)
    async with Runner(app, forge=forge) as runner:
        return await runner.start("db")


@pytest.mark.parametrize(("status", "retry_after"), [(503, None), (429, "1")])
async def test_a_gitlab_failing_every_request_gets_max_retries_plus_one_requests(
    gitlab_box: tuple[FakeGitLab, HarnessApp], status: int, retry_after: str | None
) -> None:
    fake_gitlab, app = gitlab_box
    fake_gitlab.inject("GET", "labels", Fault.burst(status, 100, retry_after=retry_after))

    result = await box_up_db(app)

    stated_maximum = MAX_RETRIES + 1
    assert fake_gitlab.count("GET", "labels") == stated_maximum
    assert len(fake_gitlab.requests) == stated_maximum  # the whole run's GitLab traffic
    assert result.status == "failed"
    assert len(result.errors) == 1 and result.errors[0].startswith("create_issue: GitLab")
    assert f"still failing after {stated_maximum} attempts" in result.errors[0]
    assert "after 2 attempts" not in result.errors[0]  # the graph did not retry the node
    if retry_after is not None:
        arrivals = fake_gitlab.arrivals("GET", "labels")
        assert all(b - a >= 1.0 for a, b in pairwise(arrivals))


@pytest.mark.parametrize("failures", [1, 2])
async def test_a_fault_that_clears_after_k_failures_costs_k_plus_one_requests(
    gitlab_box: tuple[FakeGitLab, HarnessApp], failures: int
) -> None:
    fake_gitlab, app = gitlab_box
    fake_gitlab.inject("GET", "labels", Fault.burst(503, failures))

    result = await box_up_db(app)

    assert fake_gitlab.count("GET", "labels") == failures + 1
    assert (result.status, result.next_nodes, result.errors) == (
        "paused", ["human_approval"], [])
    assert fake_gitlab.creates["issues"] == fake_gitlab.creates["merge_requests"] == 1

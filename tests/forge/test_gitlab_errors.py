"""GitLabForge fails fast on client errors, honours Retry-After, bounds retries, hides the token."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from dag_harness_mcp.config import load_settings
from dag_harness_mcp.errors import ForgeError
from dag_harness_mcp.forge.gitlab import GitLabForge
from dag_harness_mcp.forge.retry import HttpRetry
from dag_harness_mcp.forge.templates import (
    DescriptionContext,
    render_issue_description,
    render_mr_description,
)
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.trains import open_forge
from support.fake_gitlab import GENERIC_MESSAGES, TOKEN, FakeGitLab, Fault
from support.gitlab_env import FAST, gitlab_forge, gitlab_settings, records_of

TITLE = "Box up Ansible role: web"


def open_app(tmp_path: Path, fake: FakeGitLab, **extra: object) -> HarnessApp:
    settings = load_settings(gitlab_settings(tmp_path, fake.url, **extra), environ={})
    return HarnessApp.open(settings, actor="test", source="test")


async def make_issue(forge: GitLabForge, title: str = TITLE) -> object:
    return await forge.find_or_create_issue(role="web", title=title, description="", labels=[])


async def test_wrong_token_fails_at_once_with_401(tmp_path: Path, fake_gitlab: FakeGitLab) -> None:
    with (
        open_app(tmp_path, fake_gitlab, gitlab_token="glpat-wrong") as app,
        pytest.raises(ForgeError) as caught,
    ):
        await make_issue(gitlab_forge(app))
    assert caught.value.status == 401 and not caught.value.transient
    assert "GITLAB_TOKEN" in str(caught.value)
    assert len(fake_gitlab.requests) == 1


async def test_unknown_project_fails_at_once_with_404(
    tmp_path: Path, fake_gitlab: FakeGitLab
) -> None:
    with (
        open_app(tmp_path, fake_gitlab, gitlab_project="nobody/nothing") as app,
        pytest.raises(ForgeError) as caught,
    ):
        await make_issue(gitlab_forge(app))
    assert caught.value.status == 404
    assert "HARNESS_GITLAB_PROJECT" in str(caught.value)
    assert len(fake_gitlab.requests) == 1


async def test_validation_error_fails_at_once_with_400_and_the_body(
    forge: GitLabForge, fake_gitlab: FakeGitLab
) -> None:
    with pytest.raises(ForgeError) as caught:
        await make_issue(forge, title="x" * 300)
    assert caught.value.status == 400
    assert "is too long" in (caught.value.body or "")
    assert fake_gitlab.count("POST", "issues") == 1
    assert fake_gitlab.creates["issues"] == 0


async def test_same_source_and_target_branch_is_a_422_without_retry(
    forge: GitLabForge, fake_gitlab: FakeGitLab
) -> None:
    with pytest.raises(ForgeError) as caught:
        await forge.find_or_create_merge_request(
            role="web", source_branch="main", target_branch="main", title="t",
            description="", labels=[],
        )
    assert caught.value.status == 422
    assert fake_gitlab.count("POST", "merge_requests") == 1


@pytest.mark.parametrize("status", [400, 403, 404, 405, 409, 422])
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_any_other_client_error_fails_at_once_with_status_and_body(
    forge: GitLabForge, fake_gitlab: FakeGitLab, status: int, method: str
) -> None:
    fake_gitlab.inject(method, "issues", Fault("status", status=status))

    with pytest.raises(ForgeError) as caught:
        await make_issue(forge)

    assert caught.value.status == status and not caught.value.transient
    assert f"HTTP {status}" in str(caught.value)
    assert json.loads(caught.value.body or "") == {"message": GENERIC_MESSAGES[status]}
    assert fake_gitlab.count(method, "issues") == 1  # no retry
    assert fake_gitlab.creates["issues"] == 0


async def test_a_429_burst_waits_retry_after_before_every_retry(
    forge: GitLabForge, fake_gitlab: FakeGitLab
) -> None:
    fake_gitlab.inject("POST", "issues", Fault.burst(429, 2, retry_after="1"))

    ref = await make_issue(forge)

    posts = fake_gitlab.arrivals("POST", "issues")
    assert len(posts) == 3 and fake_gitlab.creates["issues"] == 1
    lookups = fake_gitlab.arrivals("GET", "issues")
    # Between a 429 and the retry's first request (its look-up), the server saw >= 1 s.
    # FAST's own backoff is at most 0.05 s, so only Retry-After explains the gap.
    retry_lookups = [min(t for t in lookups if t > post) for post in posts[:2]]
    assert all(after - post >= 1.0 for post, after in zip(posts, retry_lookups, strict=False))
    assert ref is not None


async def test_a_429_without_retry_after_backs_off_and_succeeds(
    forge: GitLabForge, fake_gitlab: FakeGitLab
) -> None:
    fake_gitlab.inject("GET", "issues", Fault.burst(429, 2))
    await make_issue(forge)
    assert fake_gitlab.count("GET", "issues") == 3 and fake_gitlab.creates["issues"] == 1


async def test_retry_after_is_waited_for_before_the_next_request(
    forge: GitLabForge, fake_gitlab: FakeGitLab
) -> None:
    fake_gitlab.inject("GET", "issues", Fault("status", status=429, retry_after="1"))

    await make_issue(forge)

    first, second = fake_gitlab.arrivals("GET", "issues")[:2]
    assert second - first >= 1.0  # measured by the server between its two arrivals


async def test_server_errors_are_retried_up_to_the_bound_then_reported(
    forge: GitLabForge, fake_gitlab: FakeGitLab
) -> None:
    fake_gitlab.inject("GET", "issues", Fault.burst(503, 10))

    with pytest.raises(ForgeError) as caught:
        await make_issue(forge)

    assert caught.value.status == 503 and caught.value.transient
    assert "after 5 attempts" in str(caught.value)
    assert fake_gitlab.count("GET", "issues") == FAST.max_retries + 1
    assert fake_gitlab.creates["issues"] == 0


async def test_an_unreachable_gitlab_is_a_transient_connection_error(tmp_path: Path) -> None:
    with FakeGitLab() as stopped:
        url = stopped.url  # the port is closed once the server stops
    settings = load_settings(gitlab_settings(tmp_path, url), environ={})
    with HarnessApp.open(settings) as app:
        forge = gitlab_forge(app, HttpRetry(max_retries=1, base_delay=0.01))
        with pytest.raises(ForgeError) as caught:
            await make_issue(forge)
    assert caught.value.status is None and caught.value.transient
    assert "GITLAB_URL" in str(caught.value)


async def test_labels_are_created_only_when_missing(
    forge: GitLabForge, fake_gitlab: FakeGitLab
) -> None:
    fake_gitlab.project().create_label({"name": "harness", "color": "#000000"})

    await forge.ensure_labels(["harness", "role::web", "wave::1", "role::web"])
    await forge.ensure_labels(["harness", "role::web"])

    names = [label["name"] for label in fake_gitlab.project().labels]
    assert names == ["harness", "role::web", "wave::1"]
    assert fake_gitlab.count("POST", "labels") == 2


async def test_a_label_created_concurrently_is_not_an_error(
    forge: GitLabForge, fake_gitlab: FakeGitLab
) -> None:
    # Someone creates "harness" between our list and our create: GitLab answers 409.
    fake_gitlab.inject("POST", "labels", Fault("status", status=409))
    await forge.ensure_labels(["harness"])
    assert fake_gitlab.count("POST", "labels") == 1


def test_factory_picks_gitlab_when_a_token_is_set_and_local_otherwise(tmp_path: Path) -> None:
    base = {"repo_root": tmp_path, "db_path": tmp_path / "h.db"}
    gitlab_env = {"GITLAB_URL": "http://127.0.0.1:9", "HARNESS_GITLAB_PROJECT": "g/p"}
    cases = {
        "token in settings": ({**gitlab_settings(tmp_path, "http://127.0.0.1:9"),
                               "forge": "auto"}, {}),
        "token in the environment": (base, {**gitlab_env, "GITLAB_TOKEN": TOKEN}),
        "no token": (base, {}),
        "no token, only GITLAB_URL": (base, {"GITLAB_URL": "http://127.0.0.1:9"}),
        "HARNESS_FORGE=local beats a token": (base, {"GITLAB_TOKEN": TOKEN,
                                                     "HARNESS_FORGE": "local"}),
        "HARNESS_FORGE=gitlab": (base, {**gitlab_env, "GITLAB_TOKEN": TOKEN,
                                        "HARNESS_FORGE": "gitlab"}),
    }
    kinds = {}
    for case, (values, environ) in cases.items():
        with HarnessApp.open(load_settings(values, environ=environ)) as app:
            forge = open_forge(app)
            kinds[case] = (forge.kind, type(forge).__name__)
    assert kinds == {
        "token in settings": ("gitlab", "GitLabForge"),
        "token in the environment": ("gitlab", "GitLabForge"),
        "no token": ("local", "LocalForge"),
        "no token, only GITLAB_URL": ("local", "LocalForge"),
        "HARNESS_FORGE=local beats a token": ("local", "LocalForge"),
        "HARNESS_FORGE=gitlab": ("gitlab", "GitLabForge"),
    }


def test_harness_forge_gitlab_without_a_token_names_the_variable(tmp_path: Path) -> None:
    settings = load_settings(
        {"repo_root": tmp_path, "db_path": tmp_path / "h.db"},
        environ={"HARNESS_FORGE": "gitlab", "HARNESS_GITLAB_PROJECT": "g/p"},
    )
    with HarnessApp.open(settings) as app, pytest.raises(ForgeError, match="GITLAB_TOKEN"):
        open_forge(app)


async def test_the_token_reaches_no_log_audit_row_database_or_error(
    tmp_path: Path, fake_gitlab: FakeGitLab, caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "requests", "gitlab", "dag_harness_mcp"):
        caplog.set_level(logging.DEBUG, logger=name)
    db_file = tmp_path / "state" / "harness.db"
    errors: list[str] = []
    with open_app(tmp_path, fake_gitlab) as app:
        forge = gitlab_forge(app)
        # A server that echoes the token in its error body, retried and then final.
        fake_gitlab.inject("GET", "issues", Fault("status", status=503, echo_token=True))
        fake_gitlab.inject("POST", "issues", Fault("status", status=422, echo_token=True))
        with pytest.raises(ForgeError) as caught:
            await make_issue(forge)
        errors += [str(caught.value), repr(caught.value), caught.value.body or ""]
        assert caught.value.__cause__ is None and caught.value.__context__ is None
        await forge.ensure_labels(["harness"])
        issue = await make_issue(forge)
        mr = await forge.find_or_create_merge_request(
            role="web", source_branch="box-up/web", target_branch="main", title="box-up: web",
            description="", labels=["harness"],
        )
        await forge.add_to_merge_train(mr)
        await forge.merge_train_status(mr.iid)
        audit = app.db.fetchall("SELECT * FROM audit_log")
        assert issue is not None and len(audit) >= 4
    assert "[REDACTED]" in errors[0]
    loggers = {r.name.split(".")[0] for r in caplog.records}
    assert "urllib3" in loggers  # the HTTP client's DEBUG records were captured too
    out, err = capfd.readouterr()
    logged = [r.getMessage() for r in caplog.records] + [caplog.text, out, err]
    everything = "\n".join(errors + logged + [str(audit), str(caught.value.args)])
    assert TOKEN not in everything
    for path in db_file.parent.iterdir():  # the database, its WAL and shared memory
        assert TOKEN.encode() not in path.read_bytes()


async def test_issue_description_update_links_the_mr_on_gitlab_and_locally(
    forge: GitLabForge, gitlab_app: HarnessApp, fake_gitlab: FakeGitLab
) -> None:
    issue = await forge.find_or_create_issue(role="web", title=TITLE, description="v1", labels=[])
    await forge.update_issue_description(issue.iid, "see !1")

    assert fake_gitlab.project().issue(issue.iid)["description"] == "see !1"
    row = gitlab_app.db.fetchone("SELECT description FROM issues WHERE iid = ?", (issue.iid,))
    assert row == {"description": "see !1"}


@pytest.mark.parametrize(
    ("missing", "named"),
    [("gitlab_token", "GITLAB_TOKEN"), ("gitlab_project", "HARNESS_GITLAB_PROJECT")],
)
def test_missing_gitlab_configuration_names_the_variable(
    tmp_path: Path, missing: str, named: str
) -> None:
    values = gitlab_settings(tmp_path, "http://127.0.0.1:9")
    values.pop(missing)
    with HarnessApp.open(load_settings(values, environ={})) as app, pytest.raises(
        ForgeError, match=named
    ):
        GitLabForge(app.settings, records_of(app))


async def test_the_issue_links_its_mr_once_the_mr_exists(
    forge: GitLabForge, gitlab_app: HarnessApp, fake_gitlab: FakeGitLab
) -> None:
    body = render_issue_description(DescriptionContext(role="web", wave=1))
    issue = await forge.find_or_create_issue(role="web", title=TITLE, description=body,
                                             labels=[])
    for _ in range(2):  # a re-run (resume) links nothing again
        mr = await forge.find_or_create_merge_request(
            role="web", source_branch="box-up/web", target_branch="main", title="box-up: web",
            description=render_mr_description(
                DescriptionContext(role="web", wave=1, issue_url=issue.web_url)
            ),
            labels=[], issue_iid=issue.iid,
        )

    on_gitlab = fake_gitlab.project().issue(issue.iid)["description"]
    assert f"| Merge request | {mr.web_url} |" in on_gitlab
    assert issue.web_url in fake_gitlab.project().mr(mr.iid)["description"]
    row = gitlab_app.db.fetchone("SELECT description FROM issues WHERE iid = ?", (issue.iid,))
    assert row == {"description": on_gitlab}
    assert fake_gitlab.count("PUT", "issue") == 1

"""The fake GitLab answers with GitLab's documented status codes, payloads and pagination headers.

These pin the test server itself to GitLab's REST v4 documentation, so the
forge tests that run against it prove behaviour against GitLab's real shapes.
"""

from __future__ import annotations

from typing import Any

import requests

from support.fake_gitlab import TOKEN, FakeGitLab
from support.gitlab_env import PROJECT

AUTH = {"PRIVATE-TOKEN": TOKEN}


def api(fake: FakeGitLab, path: str) -> str:
    return f"{fake.url}/api/v4/projects/{requests.utils.quote(PROJECT, safe='')}{path}"


def links(header: str) -> dict[str, str]:
    """``Link: <url>; rel="next", ...`` as {rel: url}."""
    found: dict[str, str] = {}
    for part in header.split(","):
        url, _, rel = part.strip().partition(";")
        found[rel.strip().removeprefix('rel="').removesuffix('"')] = url.strip("<> ")
    return found


def test_pagination_headers_follow_gitlabs_offset_pagination(fake_gitlab: FakeGitLab) -> None:
    for n in range(5):
        fake_gitlab.project().create_issue({"title": f"t{n}"})

    first = requests.get(api(fake_gitlab, "/issues"), params={"per_page": 2}, headers=AUTH,
                         timeout=5)
    middle = requests.get(links(first.headers["Link"])["next"], headers=AUTH, timeout=5)
    last = requests.get(links(middle.headers["Link"])["next"], headers=AUTH, timeout=5)

    head = first.headers
    assert (head["X-Total"], head["X-Total-Pages"], head["X-Per-Page"]) == ("5", "3", "2")
    assert (head["X-Page"], head["X-Next-Page"], head["X-Prev-Page"]) == ("1", "2", "")
    assert set(links(head["Link"])) == {"next", "first", "last"}
    assert (middle.headers["X-Page"], middle.headers["X-Next-Page"]) == ("2", "3")
    assert set(links(middle.headers["Link"])) == {"prev", "next", "first", "last"}
    assert (last.headers["X-Page"], last.headers["X-Next-Page"]) == ("3", "")
    assert set(links(last.headers["Link"])) == {"prev", "first", "last"}
    assert "page=3" in links(head["Link"])["last"] and "per_page=2" in links(head["Link"])["last"]
    iids = [i["iid"] for page in (first, middle, last) for i in page.json()]
    assert iids == [5, 4, 3, 2, 1]  # newest first, each exactly once


def post(fake: FakeGitLab, path: str, data: dict[str, Any], **headers: str) -> requests.Response:
    return requests.post(api(fake, path), json=data, headers={**AUTH, **headers}, timeout=5)


def test_error_statuses_carry_gitlabs_message_payloads(fake_gitlab: FakeGitLab) -> None:
    mr = {"source_branch": "box-up/web", "target_branch": "main", "title": "t"}
    created = post(fake_gitlab, "/merge_requests", mr)
    unauthorized = requests.get(api(fake_gitlab, "/issues"),
                                headers={"PRIVATE-TOKEN": "wrong"}, timeout=5)
    no_project = requests.get(f"{fake_gitlab.url}/api/v4/projects/nobody%2Fnothing/issues",
                              headers=AUTH, timeout=5)
    no_issue = requests.get(api(fake_gitlab, "/issues/99"), headers=AUTH, timeout=5)
    conflict = post(fake_gitlab, "/merge_requests", mr)
    same_branch = post(fake_gitlab, "/merge_requests", {**mr, "source_branch": "main"})
    invalid = post(fake_gitlab, "/issues", {"title": "x" * 300})
    missing = post(fake_gitlab, "/issues", {})

    assert created.status_code == 201 and created.json()["iid"] == 1
    assert (unauthorized.status_code, unauthorized.json()) == (401, {"message": "401 Unauthorized"})
    assert (no_project.status_code, no_project.json()) == (
        404, {"message": "404 Project Not Found"}
    )
    assert (no_issue.status_code, no_issue.json()) == (404, {"message": "404 Not found"})
    assert conflict.status_code == 409
    assert conflict.json() == {"message": [
        "Another open merge request already exists for this source branch: !1"
    ]}
    assert (same_branch.status_code, same_branch.json()) == (
        422, {"message": ["You can't use same project/branch for source and target"]}
    )
    assert (invalid.status_code, invalid.json()) == (
        400, {"message": {"title": ["is too long (maximum is 255 characters)"]}}
    )
    assert (missing.status_code, missing.json()) == (400, {"message": "title is missing"})
    for response in (created, conflict, invalid):
        assert response.headers["Content-Type"] == "application/json"


def test_a_429_carries_retry_after_and_rack_attacks_plain_text(fake_gitlab: FakeGitLab) -> None:
    from support.fake_gitlab import Fault

    fake_gitlab.inject("GET", "issues", Fault("status", status=429, retry_after="7"))
    limited = requests.get(api(fake_gitlab, "/issues"), headers=AUTH, timeout=5)
    after = requests.get(api(fake_gitlab, "/issues"), headers=AUTH, timeout=5)

    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "7")
    assert (limited.headers["Content-Type"], limited.text) == ("text/plain", "Retry later\n")
    assert after.status_code == 200  # a fault is consumed by one request

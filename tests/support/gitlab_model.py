"""The data a fake GitLab holds: projects, issues, merge requests, labels, merge trains.

Payloads follow GitLab's documented REST v4 shapes (the fields python-gitlab and
the forge read). Every method is called with the server's lock held.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ApiError", "Project", "now_iso"]


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class ApiError(Exception):
    """An HTTP error response with GitLab's ``{"message": ...}`` body."""

    def __init__(self, status: int, message: Any) -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message


USER = {"id": 1, "username": "harness-bot", "name": "Harness Bot", "state": "active"}
ISSUE_FILTERS = ("search", "in", "state", "labels")


@dataclass
class Project:
    id: int
    path: str
    base_url: str
    issues: list[dict[str, Any]] = field(default_factory=list)
    mrs: list[dict[str, Any]] = field(default_factory=list)
    labels: list[dict[str, Any]] = field(default_factory=list)
    cars: list[dict[str, Any]] = field(default_factory=list)
    branch_shas: dict[str, str] = field(default_factory=dict)
    _ids: int = 0

    def _next_id(self) -> int:
        self._ids += 1
        return self.id * 1000 + self._ids

    @property
    def web_url(self) -> str:
        return f"{self.base_url}/{self.path}"

    def sha_of(self, branch: str) -> str:
        return self.branch_shas.get(branch) or hashlib.sha1(branch.encode()).hexdigest()

    # -- issues -----------------------------------------------------------------

    def list_issues(self, query: dict[str, str]) -> list[dict[str, Any]]:
        state = query.get("state", "all")
        search = query.get("search")
        fields = query.get("in", "title,description").split(",")
        labels = [x for x in query.get("labels", "").split(",") if x]
        found = []
        for issue in self.issues:
            if state != "all" and issue["state"] != state:
                continue
            if search and not any(
                search.lower() in (issue.get(f) or "").lower() for f in fields
            ):
                continue
            if labels and not set(labels) <= set(issue["labels"]):
                continue
            found.append(issue)
        return sorted(found, key=lambda i: i["id"], reverse=True)  # created_at desc

    def create_issue(self, data: dict[str, Any]) -> dict[str, Any]:
        title = data.get("title")
        if not title:
            raise ApiError(400, "title is missing")
        if len(str(title)) > 255:  # a model validation error: GitLab answers 400, not 422
            raise ApiError(400, {"title": ["is too long (maximum is 255 characters)"]})
        iid = max((i["iid"] for i in self.issues), default=0) + 1
        stamp = now_iso()
        issue = {
            "id": self._next_id(), "iid": iid, "project_id": self.id, "title": title,
            "description": data.get("description") or "", "state": "opened",
            "created_at": stamp, "updated_at": stamp, "closed_at": None, "closed_by": None,
            "labels": _labels(data.get("labels")), "milestone": None, "assignees": [],
            "author": USER, "type": "ISSUE", "assignee": None, "user_notes_count": 0,
            "upvotes": 0, "downvotes": 0, "due_date": None, "confidential": False,
            "web_url": f"{self.web_url}/-/issues/{iid}",
            "references": {"short": f"#{iid}", "relative": f"#{iid}", "full": f"{self.path}#{iid}"},
        }
        self.issues.append(issue)
        return issue

    def issue(self, iid: int) -> dict[str, Any]:
        for issue in self.issues:
            if issue["iid"] == iid:
                return issue
        raise ApiError(404, "404 Not found")

    def update_issue(self, iid: int, data: dict[str, Any]) -> dict[str, Any]:
        issue = self.issue(iid)
        for key in ("title", "description"):
            if key in data:
                issue[key] = data[key]
        if "labels" in data:
            issue["labels"] = _labels(data["labels"])
        if data.get("state_event") == "close":
            issue["state"], issue["closed_at"] = "closed", now_iso()
        issue["updated_at"] = now_iso()
        return issue

    # -- merge requests ---------------------------------------------------------

    def list_mrs(self, query: dict[str, str]) -> list[dict[str, Any]]:
        state = query.get("state", "all")
        found = [
            mr for mr in self.mrs
            if (state == "all" or mr["state"] == state)
            and all(mr[k] == query[k] for k in ("source_branch", "target_branch") if k in query)
        ]
        return sorted(found, key=lambda m: m["id"], reverse=True)

    def create_mr(self, data: dict[str, Any]) -> dict[str, Any]:
        for key in ("source_branch", "target_branch", "title"):
            if not data.get(key):
                raise ApiError(400, f"{key} is missing")
        source, target = str(data["source_branch"]), str(data["target_branch"])
        if source == target:
            raise ApiError(422, ["You can't use same project/branch for source and target"])
        for mr in self.mrs:
            if mr["source_branch"] == source and mr["state"] == "opened":
                message = "Another open merge request already exists for this source branch"
                raise ApiError(409, [f"{message}: !{mr['iid']}"])
        iid = max((m["iid"] for m in self.mrs), default=0) + 1
        stamp = now_iso()
        mr = {
            "id": self._next_id(), "iid": iid, "project_id": self.id, "title": data["title"],
            "description": data.get("description") or "", "state": "opened",
            "created_at": stamp, "updated_at": stamp, "merged_at": None, "closed_at": None,
            "merged_by": None, "target_branch": target, "source_branch": source,
            "source_project_id": self.id, "target_project_id": self.id, "author": USER,
            "assignees": [], "reviewers": [], "labels": _labels(data.get("labels")),
            "draft": False, "work_in_progress": False, "merge_when_pipeline_succeeds": False,
            "merge_status": "can_be_merged", "detailed_merge_status": "mergeable",
            "sha": self.sha_of(source), "merge_commit_sha": None, "squash_commit_sha": None,
            "squash": False, "user_notes_count": 0, "should_remove_source_branch": None,
            "force_remove_source_branch": bool(data.get("remove_source_branch", False)),
            "web_url": f"{self.web_url}/-/merge_requests/{iid}",
            "references": {"short": f"!{iid}", "relative": f"!{iid}", "full": f"{self.path}!{iid}"},
        }
        self.mrs.append(mr)
        return mr

    def mr(self, iid: int) -> dict[str, Any]:
        for mr in self.mrs:
            if mr["iid"] == iid:
                return mr
        raise ApiError(404, "404 Not found")

    # -- labels -----------------------------------------------------------------

    def create_label(self, data: dict[str, Any]) -> dict[str, Any]:
        name, color = data.get("name"), data.get("color")
        if not name:
            raise ApiError(400, "name is missing")
        if not color:
            raise ApiError(400, "color is missing")
        if any(label["name"] == name for label in self.labels):
            raise ApiError(409, "Label already exists")
        label = {
            "id": self._next_id(), "name": name, "color": color, "text_color": "#FFFFFF",
            "description": data.get("description"), "open_issues_count": 0,
            "closed_issues_count": 0, "open_merge_requests_count": 0, "subscribed": False,
            "priority": None, "is_project_label": True,
        }
        self.labels.append(label)
        return label

    # -- merge trains -------------------------------------------------------------

    def car(self, iid: int) -> dict[str, Any]:
        for car in self.cars:
            if car["merge_request"]["iid"] == iid:
                return car
        raise ApiError(404, "404 Merge Train Merge Request Not Found")

    def active_cars(self, target_branch: str | None = None) -> list[dict[str, Any]]:
        return [
            c for c in self.cars
            if c["status"] in ("idle", "stale", "fresh", "merging")
            and (target_branch is None or c["target_branch"] == target_branch)
        ]

    def add_to_train(self, iid: int, data: dict[str, Any]) -> list[dict[str, Any]]:
        mr = self.mr(iid)
        if mr["state"] != "opened":
            raise ApiError(400, "Merge request is not mergeable")
        if any(c["merge_request"]["iid"] == iid for c in self.active_cars()):
            raise ApiError(400, "Merge request is already on the merge train")
        sha = data.get("sha")
        if sha and sha != mr["sha"]:
            raise ApiError(409, "SHA does not match HEAD of source branch")
        stamp = now_iso()
        pipeline_id = self._next_id()
        self.cars = [c for c in self.cars if c["merge_request"]["iid"] != iid]
        self.cars.append({
            "id": self._next_id(),
            "merge_request": {
                k: mr[k] for k in (
                    "id", "iid", "project_id", "title", "description", "state",
                    "created_at", "updated_at", "web_url",
                )
            },
            "user": USER,
            "pipeline": {
                "id": pipeline_id, "iid": pipeline_id, "project_id": self.id, "sha": mr["sha"],
                "ref": f"refs/merge-requests/{iid}/train", "status": "running",
                "source": "merge_request_event", "created_at": stamp, "updated_at": stamp,
                "web_url": f"{self.web_url}/-/pipelines/{pipeline_id}",
            },
            "created_at": stamp, "updated_at": stamp, "target_branch": mr["target_branch"],
            "status": "fresh", "merged_at": None, "duration": None,
        })
        return self.active_cars(mr["target_branch"])

    def finish_car(self, iid: int, *, success: bool) -> None:
        """The train's pipeline for ``iid`` finished: merge it, or drop it from the train."""
        car = self.car(iid)
        mr = self.mr(iid)
        stamp = now_iso()
        car["pipeline"]["status"] = "success" if success else "failed"
        car["updated_at"] = stamp
        if success:
            car["status"], car["merged_at"] = "merged", stamp
            mr["state"], mr["merged_at"] = "merged", stamp
            mr["merge_commit_sha"] = hashlib.sha1(f"merge-{iid}".encode()).hexdigest()
        else:
            self.cars.remove(car)  # GitLab drops a failed car from the train
        car["merge_request"]["state"] = mr["state"]


def _labels(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value if str(v)]
    return [part.strip() for part in str(value).split(",") if part.strip()]

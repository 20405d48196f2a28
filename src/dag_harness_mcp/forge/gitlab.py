"""GitLabForge: issues, merge requests and merge trains on GitLab via python-gitlab.

A find-or-create looks up first (issue by exact open title, MR by open source branch)
and retries look-up-then-create whole, so a create whose answer was lost is found, not
repeated; one GitLab processed after the client gave up is refused (a second open MR,
409) or closed by the next look-up (a second issue). The local record is upserted after
GitLab answers, so a crash in between is healed by the next call.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any

from dag_harness_mcp.db.repos.forge import IssueRecord, MergeRequestRecord
from dag_harness_mcp.errors import ForgeError
from dag_harness_mcp.forge.base import Forge, ForgeRecords, MergeRequestRef, Row, TrainEntry
from dag_harness_mcp.forge.gitlab_calls import NO_CLIENT_RETRY, GitLabCalls
from dag_harness_mcp.forge.gitlab_train import GitLabTrain
from dag_harness_mcp.forge.retry import HttpRetry
from dag_harness_mcp.forge.templates import DEDUPE_MARKER

if TYPE_CHECKING:
    import gitlab
    from gitlab.v4.objects import Project

    from dag_harness_mcp.config import Settings

__all__ = ["LABEL_COLOR", "GitLabForge"]

log = logging.getLogger(__name__)
LABEL_COLOR = "#428BCA"


class GitLabForge(Forge):
    """The :class:`~dag_harness_mcp.forge.base.Forge` of one GitLab project."""

    kind = "gitlab"

    def __init__(
        self, settings: Settings, records: ForgeRecords, *, retry: HttpRetry | None = None
    ) -> None:
        if settings.gitlab_token is None:
            raise ForgeError("GITLAB_TOKEN is not set; set it, or use HARNESS_FORGE=local")
        if not settings.gitlab_project:
            raise ForgeError(
                "HARNESS_GITLAB_PROJECT is not set; set it to the project's path"
                " (group/name) or numeric id"
            )
        super().__init__(settings.gitlab_project, records)
        self.calls = GitLabCalls(
            settings.gitlab_url,
            settings.gitlab_token.get_secret_value(),
            timeout=settings.gitlab_timeout,
            policy=retry or HttpRetry(max_retries=settings.gitlab_max_retries),
        )
        self.train = GitLabTrain(self)

    def _project(self, gl: gitlab.Gitlab) -> Project:
        return gl.projects.get(self.project, lazy=True)

    async def ensure_labels(self, labels: list[str]) -> None:
        wanted = list(dict.fromkeys(label for label in labels if label))
        if not wanted:
            return

        def names(gl: gitlab.Gitlab) -> set[str]:
            listed = self._project(gl).labels.list(get_all=True, **NO_CLIENT_RETRY)
            return {str(label.name) for label in listed}

        def create(gl: gitlab.Gitlab, name: str) -> Any:
            data = {"name": name, "color": LABEL_COLOR}
            return self._project(gl).labels.create(data, **NO_CLIENT_RETRY)

        async def op() -> list[str]:
            existing = await self.calls.call("label list", names)
            made: list[str] = []
            for name in (n for n in wanted if n not in existing):
                try:
                    await self.calls.call("label create", partial(create, name=name))
                    made.append(name)
                except ForgeError as exc:
                    if exc.status != 409:  # 409: someone created it meanwhile
                        raise
            return made

        made = await self.calls.retrying("ensure labels", op)
        if made:
            self._audit("forge.labels.created", "project", self.project, labels=made)

    # -- issues -----------------------------------------------------------------

    def _find_issues(self, gl: gitlab.Gitlab, title: str) -> list[Any]:
        """Open issues titled exactly ``title``, oldest (lowest iid) first."""
        # python-gitlab 8.6 sends ``in_`` verbatim (GitLab ignores it): pass ``in`` itself.
        filters: dict[str, Any] = {"search": title, "in": "title", "state": "opened"}
        candidates = self._project(gl).issues.list(get_all=True, **filters, **NO_CLIENT_RETRY)
        return sorted((i for i in candidates if i.title == title), key=lambda i: int(i.iid))

    def _close_issue(self, gl: gitlab.Gitlab, iid: int) -> Any:
        return self._project(gl).issues.update(iid, {"state_event": "close"}, **NO_CLIENT_RETRY)

    async def _close_duplicates(self, keep: Any, others: list[Any], description: str) -> None:
        """Close late copies of ``keep`` this harness made (our description or marker);
        an issue someone else wrote is left alone."""
        for issue in others:
            if issue.description != description and DEDUPE_MARKER not in (
                    issue.description or ""):
                continue
            iid = int(issue.iid)
            await self.calls.call("issue close", partial(self._close_issue, iid=iid))
            log.warning("closed issue #%d: a late duplicate of #%s", iid, keep.iid)
            self._audit("forge.issue.duplicate_closed", "issue", iid, iid=iid,
                        duplicate_of=int(keep.iid))

    async def _issue(
        self, role: str, title: str, description: str, labels: list[str],
        execution_id: int | None,
    ) -> tuple[Row, bool]:
        async def op() -> tuple[Any, bool]:
            found = await self.calls.call("issue lookup", lambda gl: self._find_issues(gl, title))
            if found:
                await self._close_duplicates(found[0], found[1:], description)
                return found[0], False
            data = {"title": title, "description": description, "labels": ",".join(labels)}
            made = await self.calls.call(
                "issue create",
                lambda gl: self._project(gl).issues.create(data, **NO_CLIENT_RETRY),
            )
            return made, True

        issue, created = await self.calls.retrying(f"find-or-create issue for {role!r}", op)
        row = self.repo.upsert_issue(IssueRecord(
            forge=self.kind, project=self.project, iid=int(issue.iid), role_name=role,
            title=issue.title, web_url=issue.web_url, description=issue.description,
            state=issue.state, labels=list(issue.labels), execution_id=execution_id,
        ))
        return row, created

    async def update_issue_description(self, iid: int, description: str) -> None:
        def put(gl: gitlab.Gitlab) -> Any:
            return self._project(gl).issues.update(iid, {"description": description},
                                                   **NO_CLIENT_RETRY)

        await self.calls.retrying("issue update", lambda: self.calls.call("issue update", put))
        await super().update_issue_description(iid, description)

    # -- merge requests -----------------------------------------------------------

    def _find_mr(self, gl: gitlab.Gitlab, source_branch: str) -> Any:
        candidates = self._project(gl).mergerequests.list(
            source_branch=source_branch, state="opened", get_all=True, **NO_CLIENT_RETRY
        )
        exact = [mr for mr in candidates if mr.source_branch == source_branch]
        return min(exact, key=lambda mr: mr.iid) if exact else None

    async def _merge_request(self, want: MergeRequestRecord) -> tuple[Row, bool]:
        branch = want.source_branch
        data = {
            "source_branch": branch, "target_branch": want.target_branch, "title": want.title,
            "description": want.description, "labels": ",".join(want.labels),
            "remove_source_branch": True,
        }

        async def op() -> tuple[Any, bool]:
            found = await self.calls.call("MR lookup", lambda gl: self._find_mr(gl, branch))
            if found is not None:
                return found, False
            try:
                made = await self.calls.call(
                    "MR create",
                    lambda gl: self._project(gl).mergerequests.create(data, **NO_CLIENT_RETRY),
                )
            except ForgeError as exc:
                if exc.status != 409:
                    raise
                # 409: an open MR for this branch exists after all (created concurrently).
                again = await self.calls.call("MR lookup", lambda gl: self._find_mr(gl, branch))
                if again is None:
                    raise
                return again, False
            return made, True

        mr, created = await self.calls.retrying(f"find-or-create MR for {branch!r}", op)
        row = self.repo.upsert_merge_request(replace(
            want, iid=int(mr.iid), title=mr.title, web_url=mr.web_url,
            source_branch=mr.source_branch, target_branch=mr.target_branch,
            description=mr.description, state=mr.state, sha=getattr(mr, "sha", None),
            labels=list(mr.labels),
        ))
        return row, created

    # -- merge train ----------------------------------------------------------------

    async def add_to_merge_train(
        self, mr: MergeRequestRef, *, sha: str | None = None
    ) -> TrainEntry:
        return await self.train.add(mr.iid, sha=sha)

    async def merge_train_status(self, mr_iid: int) -> TrainEntry:
        return await self.train.status(mr_iid)

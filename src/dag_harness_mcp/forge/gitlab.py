"""GitLabForge: issues, merge requests and merge trains on GitLab via python-gitlab.

Idempotent by construction: every find-or-create looks GitLab up first (issue by
exact title among open issues, MR by open source branch) and only then creates;
the whole look-up-then-create is what gets retried, so a create whose answer
was lost (timeout, dropped connection, 5xx from a proxy) is found on the next
attempt instead of being repeated. The local record is written after GitLab
answers and upserted on ``(forge, project, iid)``, so a crash in between is
healed by the next call. A create GitLab processes only after the client gave
up on it cannot be prevented by any client: GitLab refuses a second open MR for
a branch (409), and for issues the next look-up closes the newer copy. Every
mutation is audited; the token never is.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import TYPE_CHECKING, Any

from dag_harness_mcp.db.repos.forge import IssueRecord, MergeRequestRecord
from dag_harness_mcp.errors import ForgeError
from dag_harness_mcp.forge.base import IssueRef, MergeRequestRef, TrainEntry
from dag_harness_mcp.forge.gitlab_calls import NO_CLIENT_RETRY, GitLabCalls
from dag_harness_mcp.forge.gitlab_train import GitLabTrain
from dag_harness_mcp.forge.links import link_issue_to_mr
from dag_harness_mcp.forge.retry import RetryPolicy
from dag_harness_mcp.forge.templates import DEDUPE_MARKER

if TYPE_CHECKING:
    import gitlab
    from gitlab.v4.objects import Project

    from dag_harness_mcp.service.app import HarnessApp

__all__ = ["LABEL_COLOR", "GitLabForge"]

log = logging.getLogger(__name__)
LABEL_COLOR = "#428BCA"


class GitLabForge:
    """The :class:`~dag_harness_mcp.forge.base.Forge` for one GitLab project."""

    kind = "gitlab"

    def __init__(self, app: HarnessApp, *, policy: RetryPolicy | None = None) -> None:
        settings = app.settings
        if settings.gitlab_token is None:
            raise ForgeError("GITLAB_TOKEN is not set; set it, or use HARNESS_FORGE=local")
        if not settings.gitlab_project:
            raise ForgeError(
                "HARNESS_GITLAB_PROJECT is not set; set it to the project's path"
                " (group/name) or numeric id"
            )
        self.app = app
        self.project = settings.gitlab_project
        self.calls = GitLabCalls(
            settings.gitlab_url,
            settings.gitlab_token.get_secret_value(),
            timeout=settings.gitlab_timeout,
            policy=policy or RetryPolicy(max_retries=settings.gitlab_max_retries),
        )
        self.train = GitLabTrain(self)

    def _project(self, gl: gitlab.Gitlab) -> Project:
        return gl.projects.get(self.project, lazy=True)

    # -- labels -----------------------------------------------------------------

    async def ensure_labels(self, labels: list[str]) -> None:
        """Create the labels the project lacks (one that already exists is fine)."""
        wanted = list(dict.fromkeys(label for label in labels if label))
        if not wanted:
            return

        async def op() -> list[str]:
            existing = await self.calls.call("label list", self._label_names)
            made: list[str] = []
            for name in wanted:
                if name in existing:
                    continue
                data = {"name": name, "color": LABEL_COLOR}
                try:
                    await self.calls.call(
                        "label create",
                        partial(self._create_label, data=data),
                    )
                    made.append(name)
                except ForgeError as exc:
                    if exc.status != 409:  # 409: someone created it meanwhile
                        raise
            return made

        made = await self.calls.retrying("ensure labels", op)
        if made:
            self.app.audit(
                "forge.labels.created", entity_type="project", entity_id=self.project,
                details={"forge": self.kind, "labels": made},
            )

    def _label_names(self, gl: gitlab.Gitlab) -> set[str]:
        listed = self._project(gl).labels.list(get_all=True, **NO_CLIENT_RETRY)
        return {str(label.name) for label in listed}

    def _create_label(self, gl: gitlab.Gitlab, *, data: dict[str, str]) -> Any:
        return self._project(gl).labels.create(data, **NO_CLIENT_RETRY)

    # -- issues -----------------------------------------------------------------

    def _find_issues(self, gl: gitlab.Gitlab, title: str) -> list[Any]:
        """Open issues titled exactly ``title``, oldest (lowest iid) first."""
        # python-gitlab 8.6 sends ``in_`` verbatim (GitLab ignores it): pass ``in`` itself.
        filters: dict[str, Any] = {"search": title, "in": "title", "state": "opened"}
        candidates = self._project(gl).issues.list(get_all=True, **filters, **NO_CLIENT_RETRY)
        return sorted((i for i in candidates if i.title == title), key=lambda i: int(i.iid))

    def _close_issue(self, gl: gitlab.Gitlab, *, iid: int) -> Any:
        return self._project(gl).issues.update(iid, {"state_event": "close"}, **NO_CLIENT_RETRY)

    async def _close_duplicates(self, keep: Any, others: list[Any], description: str) -> None:
        """Close late copies of ``keep`` that this harness made.

        A create GitLab processes only after the client gave up waiting (a request
        stuck in a proxy queue) lands after the retry's own create; the next
        look-up finds both and closes the newer copy. An issue someone else wrote
        (neither our description nor our marker) is left alone.
        """
        ours = [
            issue for issue in others
            if issue.description == description or DEDUPE_MARKER in (issue.description or "")
        ]
        for issue in ours:
            iid = int(issue.iid)
            await self.calls.call("issue close", partial(self._close_issue, iid=iid))
            log.warning("closed issue #%d: a late duplicate of #%s", iid, keep.iid)
            self.app.audit(
                "forge.issue.duplicate_closed", entity_type="issue", entity_id=iid,
                details={"forge": self.kind, "project": self.project, "iid": iid,
                         "duplicate_of": int(keep.iid)},
            )

    async def find_or_create_issue(
        self,
        *,
        role: str,
        title: str,
        description: str,
        labels: list[str],
        execution_id: int | None = None,
    ) -> IssueRef:
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
        row = self.app.db.forge.upsert_issue(
            IssueRecord(
                forge=self.kind, project=self.project, iid=int(issue.iid), role_name=role,
                title=issue.title, web_url=issue.web_url, description=issue.description,
                state=issue.state, labels=list(issue.labels), execution_id=execution_id,
            )
        )
        if created:
            self.app.audit(
                "forge.issue.created", entity_type="issue", entity_id=row["id"],
                details={"forge": self.kind, "project": self.project, "iid": row["iid"],
                         "role": role, "web_url": row["web_url"]},
            )
        return IssueRef(
            iid=int(issue.iid), title=issue.title, web_url=issue.web_url,
            state=issue.state, created=created,
        )

    async def update_issue_description(self, iid: int, description: str) -> None:
        """Replace an issue's description (e.g. to link the MR once it exists)."""
        await self.calls.retrying(
            f"update issue #{iid}",
            lambda: self.calls.call(
                "issue update",
                lambda gl: self._project(gl).issues.update(
                    iid, {"description": description}, **NO_CLIENT_RETRY
                ),
            ),
        )
        self.app.db.forge.update_issue_description(self.kind, self.project, iid, description)
        self.app.audit(
            "forge.issue.updated", entity_type="issue", entity_id=iid,
            details={"forge": self.kind, "project": self.project, "iid": iid},
        )

    # -- merge requests -----------------------------------------------------------

    def _find_mr(self, gl: gitlab.Gitlab, source_branch: str) -> Any:
        candidates = self._project(gl).mergerequests.list(
            source_branch=source_branch, state="opened", get_all=True, **NO_CLIENT_RETRY
        )
        exact = [mr for mr in candidates if mr.source_branch == source_branch]
        return min(exact, key=lambda mr: mr.iid) if exact else None

    async def find_or_create_merge_request(
        self,
        *,
        role: str,
        source_branch: str,
        target_branch: str,
        title: str,
        description: str,
        labels: list[str],
        issue_iid: int | None = None,
        execution_id: int | None = None,
    ) -> MergeRequestRef:
        data = {
            "source_branch": source_branch, "target_branch": target_branch, "title": title,
            "description": description, "labels": ",".join(labels),
            "remove_source_branch": True,
        }

        async def op() -> tuple[Any, bool]:
            found = await self.calls.call("MR lookup", lambda gl: self._find_mr(gl, source_branch))
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
                again = await self.calls.call(
                    "MR lookup", lambda gl: self._find_mr(gl, source_branch)
                )
                if again is None:
                    raise
                return again, False
            return made, True

        mr, created = await self.calls.retrying(f"find-or-create MR for {source_branch!r}", op)
        row = self.app.db.forge.upsert_merge_request(
            MergeRequestRecord(
                forge=self.kind, project=self.project, iid=int(mr.iid), role_name=role,
                title=mr.title, web_url=mr.web_url, source_branch=mr.source_branch,
                target_branch=mr.target_branch, description=mr.description, state=mr.state,
                sha=getattr(mr, "sha", None), labels=list(mr.labels),
                execution_id=execution_id, issue_iid=issue_iid,
            )
        )
        if created:
            self.app.audit(
                "forge.merge_request.created", entity_type="merge_request", entity_id=row["id"],
                details={"forge": self.kind, "project": self.project, "iid": row["iid"],
                         "role": role, "source_branch": source_branch, "web_url": row["web_url"]},
            )
        if issue_iid is not None:
            await link_issue_to_mr(self, self.app.db.forge, issue_iid, mr.web_url)
        return MergeRequestRef(
            iid=int(mr.iid), title=mr.title, web_url=mr.web_url,
            source_branch=mr.source_branch, target_branch=mr.target_branch,
            state=mr.state, sha=getattr(mr, "sha", None), created=created,
        )

    # -- merge train ----------------------------------------------------------------

    async def add_to_merge_train(
        self, mr: MergeRequestRef, *, sha: str | None = None
    ) -> TrainEntry:
        return await self.train.add(mr, sha=sha)

    async def merge_train_status(self, mr_iid: int) -> TrainEntry:
        return await self.train.status(mr_iid)

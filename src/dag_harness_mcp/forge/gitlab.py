"""GitLabForge: issues, merge requests and merge trains on GitLab via python-gitlab.

A find-or-create looks up first (issue by exact open title, MR by open source branch)
and retries look-up-then-create whole, so a create whose answer was lost is found, not
repeated; one GitLab processed after the client gave up is refused (a second open MR,
409) or closed by the next look-up (a second issue). The local record is upserted after
GitLab answers, so a crash in between is healed by the next call.

Every request goes through :meth:`GitLabForge._call`: in a worker thread, with a timeout
and without python-gitlab's own retries (:func:`retry_async` retries whole operations);
a failure becomes :class:`ForgeHTTPError` (status, body, ``Retry-After``, the token
scrubbed, no python-gitlab cause, whose text may echo the server). Merge trains use the
raw API (python-gitlab has no wrapper); ``merge_train_entries`` is kept current on every
call.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from dag_harness_mcp.db.repos.forge import IssueRecord, MergeRequestRecord
from dag_harness_mcp.errors import ForgeError
from dag_harness_mcp.forge.base import Forge, ForgeRecords, MergeRequestRef, Row, TrainEntry
from dag_harness_mcp.forge.retry import ForgeHTTPError, HttpRetry, parse_retry_after, retry_async
from dag_harness_mcp.forge.templates import DEDUPE_MARKER

if TYPE_CHECKING:
    import requests

    from dag_harness_mcp.config import Settings

__all__ = ["GitLabForge"]

log = logging.getLogger(__name__)
T = TypeVar("T")
LABEL_COLOR = "#428BCA"
REDACTED = "[REDACTED]"

# Passed to every python-gitlab call: no 429 sleeps inside the client.
NO_CLIENT_RETRY: dict[str, Any] = {"obey_rate_limit": False, "retry_transient_errors": False}

_HINTS = {
    401: "check GITLAB_TOKEN: it must be a valid token with the `api` scope",
    403: "the token's user lacks permission on the project (Developer role or higher)",
    404: "check HARNESS_GITLAB_PROJECT (path or id) and GITLAB_URL",
    409: "it conflicts with an existing object",
    429: "GitLab is rate limiting this token; wait and retry",
}

# GitLab car status -> merge_train_entries.status
CAR_STATUS = {"idle": "queued", "stale": "running", "fresh": "running", "merging": "running",
              "merged": "merged", "skip_merged": "merged"}
DROPPED = (
    "GitLab dropped the MR from the merge train (its train pipeline failed or the MR"
    " changed); fix the MR and add it to the train again"
)


def _encoded(value: str) -> str:
    from gitlab.utils import EncodedId

    return str(EncodedId(value))


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
        import gitlab
        import requests

        self.timeout = settings.gitlab_timeout
        self.policy = retry or HttpRetry(max_retries=settings.gitlab_max_retries)
        self._token = settings.gitlab_token.get_secret_value()
        self._local = threading.local()
        session = requests.Session()
        session.hooks["response"].append(self._remember)
        self.gl = gitlab.Gitlab(settings.gitlab_url, private_token=self._token,
                                timeout=self.timeout, retry_transient_errors=False,
                                session=session)
        self._project = self.gl.projects.get(self.project, lazy=True)  # makes no request
        self._base = f"/projects/{_encoded(self.project)}"

    # -- the one choke point --------------------------------------------------------

    def _scrub(self, text: object) -> str:
        """``text`` as a string with the token replaced."""
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        value = str(text)
        return value.replace(self._token, REDACTED) if self._token else value

    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._local.last = (response.status_code, response.headers.get("Retry-After"))

    async def _call(self, what: str, fn: Callable[[], T]) -> T:
        """One attempt of ``fn()`` in a worker thread; failures become ForgeHTTPError."""
        return await asyncio.to_thread(self._attempt, what, fn)

    async def _retrying(self, what: str, operation: Callable[[], Awaitable[T]]) -> T:
        """Run an idempotent operation (made of :meth:`_call` steps) under the retry policy."""
        return await retry_async(operation, self.policy, what=f"GitLab {what}")

    def _attempt(self, what: str, fn: Callable[[], T]) -> T:
        import gitlab.exceptions
        import requests

        self._local.last = None
        try:
            return fn()
        except gitlab.exceptions.GitlabError as exc:
            error = self._http_error(what, exc.response_code, exc.error_message, exc.response_body)
        except requests.exceptions.Timeout:
            error = ForgeHTTPError(
                f"GitLab {what} timed out after {self.timeout:g}s; GitLab may be slow or"
                " unreachable (raise gitlab_timeout if this persists)"
            )
        except (requests.exceptions.ConnectionError,
                requests.exceptions.ChunkedEncodingError) as exc:
            error = ForgeHTTPError(
                f"GitLab {what} lost its connection ({type(exc).__name__}: "
                f"{self._scrub(exc)[:300]}); check GITLAB_URL and the network"
            )
        # Raised without the python-gitlab/requests cause: its text may carry server echoes.
        raise error from None

    def _http_error(
        self, what: str, status: int | None, message: object, body: bytes | None
    ) -> ForgeHTTPError:
        retry_after = None
        last = getattr(self._local, "last", None)
        if last is not None and last[0] == status:
            retry_after = parse_retry_after(last[1])
        text = " ".join(self._scrub(message).split())[:500]
        hint = _HINTS.get(status or 0) or (
            "GitLab rejected the request" if status and status < 500 else "GitLab failed"
        )
        return ForgeHTTPError(f"GitLab {what} failed: {text}; {hint}", status,
                              self._scrub(body)[:2000] if body is not None else text,
                              retry_after=retry_after)

    # -- labels and issues ----------------------------------------------------------

    async def ensure_labels(self, labels: list[str]) -> None:
        wanted = list(dict.fromkeys(label for label in labels if label))
        if not wanted:
            return

        def names() -> set[str]:
            listed = self._project.labels.list(get_all=True, **NO_CLIENT_RETRY)
            return {str(label.name) for label in listed}

        async def op() -> list[str]:
            existing = await self._call("label list", names)
            made: list[str] = []
            for name in (n for n in wanted if n not in existing):
                data = {"name": name, "color": LABEL_COLOR}
                try:
                    await self._call("label create", partial(
                        self._project.labels.create, data, **NO_CLIENT_RETRY))
                    made.append(name)
                except ForgeError as exc:
                    if exc.status != 409:  # 409: someone created it meanwhile
                        raise
            return made

        made = await self._retrying("ensure labels", op)
        if made:
            self._audit("forge.labels.created", "project", self.project, labels=made)

    def _find_issues(self, title: str) -> list[Any]:
        """Open issues titled exactly ``title``, oldest (lowest iid) first."""
        # python-gitlab 8.6 sends ``in_`` verbatim (GitLab ignores it): pass ``in`` itself.
        filters: dict[str, Any] = {"search": title, "in": "title", "state": "opened"}
        candidates = self._project.issues.list(get_all=True, **filters, **NO_CLIENT_RETRY)
        return sorted((i for i in candidates if i.title == title), key=lambda i: int(i.iid))

    async def _close_duplicates(self, keep: Any, others: list[Any], description: str) -> None:
        """Close late copies of ``keep`` this harness made (our description or marker);
        an issue someone else wrote is left alone."""
        for issue in others:
            if issue.description != description and DEDUPE_MARKER not in (
                    issue.description or ""):
                continue
            iid = int(issue.iid)
            await self._call("issue close", partial(
                self._project.issues.update, iid, {"state_event": "close"}, **NO_CLIENT_RETRY))
            log.warning("closed issue #%d: a late duplicate of #%s", iid, keep.iid)
            self._audit("forge.issue.duplicate_closed", "issue", iid, iid=iid,
                        duplicate_of=int(keep.iid))

    async def _issue(
        self, role: str, title: str, description: str, labels: list[str],
        execution_id: int | None,
    ) -> tuple[Row, bool]:
        async def op() -> tuple[Any, bool]:
            found = await self._call("issue lookup", lambda: self._find_issues(title))
            if found:
                await self._close_duplicates(found[0], found[1:], description)
                return found[0], False
            data = {"title": title, "description": description, "labels": ",".join(labels)}
            made = await self._call(
                "issue create", lambda: self._project.issues.create(data, **NO_CLIENT_RETRY)
            )
            return made, True

        issue, created = await self._retrying(f"find-or-create issue for {role!r}", op)
        row = self.repo.upsert_issue(IssueRecord(
            forge=self.kind, project=self.project, iid=int(issue.iid), role_name=role,
            title=issue.title, web_url=issue.web_url, description=issue.description,
            state=issue.state, labels=list(issue.labels), execution_id=execution_id,
        ))
        return row, created

    async def update_issue_description(self, iid: int, description: str) -> None:
        put = partial(self._project.issues.update, iid, {"description": description},
                      **NO_CLIENT_RETRY)
        await self._retrying("issue update", lambda: self._call("issue update", put))
        await super().update_issue_description(iid, description)

    # -- merge requests -----------------------------------------------------------

    def _find_mr(self, source_branch: str) -> Any:
        candidates = self._project.mergerequests.list(
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
            found = await self._call("MR lookup", lambda: self._find_mr(branch))
            if found is not None:
                return found, False
            try:
                made = await self._call(
                    "MR create", lambda: self._project.mergerequests.create(data, **NO_CLIENT_RETRY)
                )
            except ForgeError as exc:
                if exc.status != 409:
                    raise
                # 409: an open MR for this branch exists after all (created concurrently).
                again = await self._call("MR lookup", lambda: self._find_mr(branch))
                if again is None:
                    raise
                return again, False
            return made, True

        mr, created = await self._retrying(f"find-or-create MR for {branch!r}", op)
        row = self.repo.upsert_merge_request(replace(
            want, iid=int(mr.iid), title=mr.title, web_url=mr.web_url,
            source_branch=mr.source_branch, target_branch=mr.target_branch,
            description=mr.description, state=mr.state, sha=getattr(mr, "sha", None),
            labels=list(mr.labels),
        ))
        return row, created

    # -- merge train ----------------------------------------------------------------

    async def _car(self, iid: int) -> dict[str, Any] | None:
        """``GET .../merge_trains/merge_requests/:iid`` (POST there adds); None: no car."""
        try:
            car = await self._call("merge train status", lambda: self.gl.http_get(
                f"{self._base}/merge_trains/merge_requests/{iid}", **NO_CLIENT_RETRY))
        except ForgeError as exc:
            if exc.status == 404:
                return None
            raise
        return car if isinstance(car, dict) else None

    async def _position(self, target_branch: str, iid: int) -> int | None:
        """The queue position among the active cars of ``target_branch``, oldest first."""
        listed = await self._call("merge train list", lambda: self.gl.http_list(
            f"{self._base}/merge_trains/{_encoded(target_branch)}",
            query_data={"scope": "active", "sort": "asc"}, get_all=True, **NO_CLIENT_RETRY))
        iids = [int(car.get("merge_request", {}).get("iid", -1)) for car in listed]
        return iids.index(iid) if iid in iids else None

    async def add_to_merge_train(
        self, mr: MergeRequestRef, *, sha: str | None = None
    ) -> TrainEntry:
        iid = mr.iid
        row = self._mr_row(iid)
        target = str(row["target_branch"])

        async def op() -> tuple[dict[str, Any] | None, bool, int | None]:
            car = await self._car(iid)
            added = False
            if car is None or CAR_STATUS.get(str(car.get("status"))) is None:
                data = {"sha": sha} if sha else {}
                try:
                    await self._call("merge train add", lambda: self.gl.http_post(
                        f"{self._base}/merge_trains/merge_requests/{iid}", post_data=data,
                        **NO_CLIENT_RETRY))
                    added = True
                except ForgeError as exc:
                    # 400 "already on the merge train" after a lost answer is success.
                    if exc.status != 400 or await self._car(iid) is None:
                        raise
                car = await self._car(iid)
            position = await self._position(target, iid)
            return car, added, position

        car, added, position = await self._retrying(f"add !{iid} to the merge train", op)
        entry = self._record(row, car, position, requeue=added)
        if added:
            self._audit("forge.merge_train.added", "merge_request", row["id"], iid=iid,
                        target_branch=target, sha=sha)
        return entry

    async def merge_train_status(self, mr_iid: int) -> TrainEntry:
        row = self._mr_row(mr_iid)

        async def op() -> tuple[dict[str, Any] | None, int | None, dict[str, Any] | None]:
            car = await self._car(mr_iid)
            mapped = None if car is None else CAR_STATUS.get(str(car.get("status")))
            if mapped in ("queued", "running"):
                return car, await self._position(str(row["target_branch"]), mr_iid), None
            mr = await self._call("MR lookup", lambda: self.gl.http_get(
                f"{self._base}/merge_requests/{mr_iid}", **NO_CLIENT_RETRY))
            return car, None, mr if isinstance(mr, dict) else None

        car, position, mr = await self._retrying(f"merge train status of !{mr_iid}", op)
        return self._record(row, car, position, mr=mr)

    def _record(
        self, row: Row, car: dict[str, Any] | None, position: int | None, *,
        requeue: bool = False, mr: dict[str, Any] | None = None,
    ) -> TrainEntry:
        """Write what GitLab said about the car (and, without one, the MR) into the entry."""
        mr_id = int(row["id"])
        reason: str | None = None
        merge_sha: str | None = None
        pipeline: dict[str, Any] = {}
        if car is not None:
            status = CAR_STATUS.get(str(car.get("status")), "running")
            pipeline = car.get("pipeline") or {}
            if status == "merged" and mr is not None:
                merge_sha = mr.get("merge_commit_sha")
        elif mr is not None and mr.get("state") == "merged":
            status, merge_sha = "merged", mr.get("merge_commit_sha")
        elif car is None and mr is None:
            status = "queued"  # added "when the pipeline succeeds": no car yet
        else:
            status, reason = "failed", DROPPED
        with self.records.transaction():
            if self.repo.train_entry(mr_id) is None or requeue:
                self.repo.enqueue(mr_id, str(row["target_branch"]), position=position)
            stored = self.repo.update_train_entry(
                mr_id, status=status, position=position,
                pipeline_id=pipeline.get("id"), pipeline_status=pipeline.get("status"),
                failure_reason=reason,
            )
            if status == "merged":
                self.repo.mark_merged(mr_id, merge_commit_sha=merge_sha, sha=pipeline.get("sha"))
        assert stored is not None
        return TrainEntry.of(stored, int(row["iid"]), merge_sha)

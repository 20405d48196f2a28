"""GitLab merge trains through the raw API (python-gitlab has no wrapper for them).

``POST /projects/:id/merge_trains/merge_requests/:iid`` adds, ``GET`` on the same path
reads the car, ``GET /projects/:id/merge_trains/:target_branch?scope=active&sort=asc``
gives the queue position. Adding looks the car up before (and, after a lost answer,
again instead of) posting. ``merge_train_entries`` is kept current on every call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dag_harness_mcp.errors import ForgeError
from dag_harness_mcp.forge.base import TrainEntry
from dag_harness_mcp.forge.gitlab_calls import NO_CLIENT_RETRY

if TYPE_CHECKING:
    import gitlab

    from dag_harness_mcp.forge.base import Row
    from dag_harness_mcp.forge.gitlab import GitLabForge

__all__ = ["GitLabTrain"]

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


class GitLabTrain:
    def __init__(self, forge: GitLabForge) -> None:
        self.forge = forge
        self.calls = forge.calls
        self.base = f"/projects/{_encoded(forge.project)}"

    async def _car(self, iid: int) -> dict[str, Any] | None:
        def get(gl: gitlab.Gitlab) -> Any:
            return gl.http_get(f"{self.base}/merge_trains/merge_requests/{iid}", **NO_CLIENT_RETRY)

        try:
            car = await self.calls.call("merge train status", get)
        except ForgeError as exc:
            if exc.status == 404:
                return None
            raise
        return car if isinstance(car, dict) else None

    async def _position(self, target_branch: str, iid: int) -> int | None:
        def cars(gl: gitlab.Gitlab) -> Any:
            return gl.http_list(f"{self.base}/merge_trains/{_encoded(target_branch)}",
                                query_data={"scope": "active", "sort": "asc"}, get_all=True,
                                **NO_CLIENT_RETRY)

        listed = await self.calls.call("merge train list", cars)
        iids = [int(car.get("merge_request", {}).get("iid", -1)) for car in listed]
        return iids.index(iid) if iid in iids else None

    async def add(self, iid: int, *, sha: str | None) -> TrainEntry:
        row = self.forge._mr_row(iid)
        target = str(row["target_branch"])

        async def op() -> tuple[dict[str, Any] | None, bool, int | None]:
            car = await self._car(iid)
            added = False
            if car is None or CAR_STATUS.get(str(car.get("status"))) is None:
                data = {"sha": sha} if sha else {}
                try:
                    await self.calls.call("merge train add", lambda gl: gl.http_post(
                        f"{self.base}/merge_trains/merge_requests/{iid}", post_data=data,
                        **NO_CLIENT_RETRY))
                    added = True
                except ForgeError as exc:
                    # 400 "already on the merge train" after a lost answer is success.
                    if exc.status != 400 or await self._car(iid) is None:
                        raise
                car = await self._car(iid)
            position = await self._position(target, iid)
            return car, added, position

        car, added, position = await self.calls.retrying(f"add !{iid} to the merge train", op)
        entry = self._record(row, car, position, requeue=added)
        if added:
            self.forge._audit("forge.merge_train.added", "merge_request", row["id"], iid=iid,
                              target_branch=target, sha=sha)
        return entry

    async def status(self, mr_iid: int) -> TrainEntry:
        row = self.forge._mr_row(mr_iid)

        async def op() -> tuple[dict[str, Any] | None, int | None, dict[str, Any] | None]:
            car = await self._car(mr_iid)
            mapped = None if car is None else CAR_STATUS.get(str(car.get("status")))
            if mapped in ("queued", "running"):
                return car, await self._position(str(row["target_branch"]), mr_iid), None
            mr = await self.calls.call(
                "MR lookup",
                lambda gl: gl.http_get(f"{self.base}/merge_requests/{mr_iid}", **NO_CLIENT_RETRY),
            )
            return car, None, mr if isinstance(mr, dict) else None

        car, position, mr = await self.calls.retrying(f"merge train status of !{mr_iid}", op)
        return self._record(row, car, position, mr=mr)

    def _record(
        self, row: Row, car: dict[str, Any] | None, position: int | None, *,
        requeue: bool = False, mr: dict[str, Any] | None = None,
    ) -> TrainEntry:
        """Write what GitLab said about the car (and, without one, the MR) into the entry."""
        repo = self.forge.repo
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
        with self.forge.records.transaction():
            existing = repo.train_entry(mr_id)
            if existing is None or requeue:
                repo.enqueue(mr_id, str(row["target_branch"]), position=position)
            stored = repo.update_train_entry(
                mr_id, status=status, position=position,
                pipeline_id=pipeline.get("id"), pipeline_status=pipeline.get("status"),
                failure_reason=reason,
            )
            if status == "merged":
                repo.mark_merged(mr_id, merge_commit_sha=merge_sha, sha=pipeline.get("sha"))
        assert stored is not None
        return TrainEntry.of(stored, int(row["iid"]), merge_sha)

"""The wave executor: box up roles wave by wave through the Runner.

Roles of one wave run in parallel, at most ``concurrency`` at a time (one at a
time when the wave says ``parallel: false`` in ``harness.yml``); the next wave
starts when the whole wave settled. A role whose dependency (in this run) did
not complete is recorded ``blocked`` with the reason, and so are its dependants
in later waves; independent roles go on.

The run is recorded in ``wave_runs`` / ``wave_run_roles`` and every execution it
starts carries its ``wave_run_id``, so :meth:`WaveExecutor.resume` (``harness
run-waves --resume``), in any process and also after ``kill -9``, skips the roles
that completed, continues the executions that were running, paused at a
breakpoint or failed in a node, and decides the blocked and skipped roles anew.
Each wave's coordination record lives in the HarnessStore under ``("waves", n)``.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dag_harness_mcp.errors import ConfigError, HarnessError, NotFoundError, WorkflowError
from dag_harness_mcp.service.roles import plan_waves
from dag_harness_mcp.service.run_types import ProgressEvent, RunResult, pid_alive, repair_of
from dag_harness_mcp.service.wave_types import (
    OnWaveEvent,
    RoleOutcome,
    WaveEvent,
    WavePolicy,
    WaveRunReport,
    run_status,
)
from dag_harness_mcp.store.namespaces import record_wave

if TYPE_CHECKING:
    from dag_harness_mcp.db.repos.waves import WaveRunRepository
    from dag_harness_mcp.service.app import HarnessApp
    from dag_harness_mcp.service.runs import Runner

__all__ = ["WaveExecutor", "WavePolicy", "WaveRunReport", "list_wave_runs"]

_SETTLED = ("completed", "rejected")
_ROLE_STATUS = {"completed": "completed", "failed": "failed", "rejected": "rejected",
                "cancelled": "cancelled", "paused": "paused"}


class WaveExecutor:
    """``await WaveExecutor(runner).start(from_wave=0, to_wave=2)``; ``.resume()`` after a crash."""

    def __init__(
        self,
        runner: Runner,
        *,
        policy: WavePolicy | None = None,
        on_event: OnWaveEvent | None = None,
    ) -> None:
        self.runner = runner
        self.app = runner.app
        self.policy = policy if policy is not None else WavePolicy()
        self.on_event = on_event
        self._status: dict[str, str] = {}
        self._blocked_by: dict[str, str] = {}
        self._outcomes: dict[str, RoleOutcome] = {}
        self._deps: dict[str, set[str]] = {}
        self._stop_reason: str | None = None

    @property
    def repo(self) -> WaveRunRepository:
        return self.app.db.waves

    # -- entry points -------------------------------------------------------------------

    def plan(
        self, from_wave: int | None = None, to_wave: int | None = None
    ) -> list[dict[str, Any]]:
        """The waves a run over ``[from_wave, to_wave]`` would box up (from the last sync)."""
        if from_wave is not None and to_wave is not None and from_wave > to_wave:
            raise ConfigError("--from/--to", (from_wave, to_wave), "--from must be <= --to")
        waves = [
            w for w in plan_waves(self.app)
            if (from_wave is None or w["wave"] >= from_wave)
            and (to_wave is None or w["wave"] <= to_wave)
        ]
        if not waves:
            raise NotFoundError(
                "no roles in the requested waves; run `harness sync` and check `harness waves`"
            )
        return waves

    async def start(
        self,
        *,
        from_wave: int | None = None,
        to_wave: int | None = None,
        concurrency: int | None = None,
    ) -> WaveRunReport:
        """A new wave run over ``[from_wave, to_wave]`` (every wave by default)."""
        limit = concurrency if concurrency is not None else self.app.settings.concurrency
        if limit < 1:
            raise ConfigError("--concurrency", limit, "must be 1 or more")
        waves = self.plan(from_wave, to_wave)
        with self.app.db.transaction():
            run_id = self.repo.create(
                mode=self.policy.mode, from_wave=from_wave, to_wave=to_wave, concurrency=limit,
                auto_approve=self.policy.auto_approve, pid=os.getpid(),
                options={"waves": [w["wave"] for w in waves],
                         "allow_untested": self.policy.allow_untested},
            )
            self.repo.add_roles(run_id, [(r, w["wave"]) for w in waves for r in w["roles"]])
        self.app.audit("wave_run.start", entity_type="wave_run", entity_id=run_id,
                       details={"from": from_wave, "to": to_wave, "concurrency": limit,
                                "mode": self.policy.mode, "roles": self._role_count(run_id)})
        return await self._execute(run_id)

    async def resume(self, wave_run_id: int | None = None) -> WaveRunReport:
        """Continue wave run ``wave_run_id`` (default: the newest one that did not complete)."""
        if wave_run_id is None:
            row = self.repo.latest_unfinished(mode=self.policy.mode)
            if row is None:
                raise NotFoundError(
                    f"no unfinished {self.policy.mode} wave run to resume; start one with "
                    "`harness run-waves`"
                )
        else:
            row = self.repo.require(wave_run_id)
        run_id = int(row["id"])
        if row["status"] == "completed":
            raise WorkflowError(f"wave run {run_id} already completed; start a new one")
        owner = row["pid"]
        if owner is not None and int(owner) != os.getpid() and pid_alive(int(owner)):
            raise WorkflowError(
                f"wave run {run_id} is running in process {owner}; wait for it or stop it"
            )
        if row["auto_approve"]:
            self.policy.auto_approve = True  # as the run was started
        if _options(row).get("allow_untested"):
            self.policy.allow_untested = True
        if not self.repo.claim(run_id, os.getpid(), expected_pid=owner):
            raise WorkflowError(f"wave run {run_id} was taken over by another process")
        # Blocked and skipped roles are decided anew; the rest continue from their executions.
        self.repo.reset_roles(run_id, ("blocked", "skipped", "cancelled"))
        self.app.audit("wave_run.resume", entity_type="wave_run", entity_id=run_id,
                       details={"from_status": row["status"], "crashed_owner": owner})
        return await self._execute(run_id)

    # -- the run ----------------------------------------------------------------------------

    def _role_count(self, run_id: int) -> int:
        return sum(self.repo.counts(run_id).values())

    async def _emit(self, event: WaveEvent) -> None:
        if self.on_event is not None:
            await self.on_event(event)

    async def _execute(self, run_id: int) -> WaveRunReport:
        started = time.monotonic()
        row = self.repo.require(run_id)
        self.policy.run_started(run_id)
        limit = int(row["concurrency"] or self.app.settings.concurrency)
        serial = {p.wave for p in self.app.settings.waves if not p.parallel}
        planned = self.repo.roles(run_id)
        self._status = {
            str(r["role_name"]): str(r["status"]) for r in planned if r["status"] in _SETTLED
        }
        self._deps = {}
        for edge in self.app.db.roles.edges():
            self._deps.setdefault(str(edge["role"]), set()).add(str(edge["depends_on"]))
        in_run = {str(r["role_name"]) for r in planned}
        self._deps = {k: v & in_run for k, v in self._deps.items() if k in in_run}
        waves: dict[int, list[str]] = {}
        for r in planned:
            waves.setdefault(int(r["wave"]), []).append(str(r["role_name"]))
        try:
            for wave in sorted(waves):
                width = 1 if wave in serial else limit
                await self._run_wave(run_id, wave, waves[wave], width)
        except BaseException:
            # Interrupted (Ctrl-C, task cancelled): leave it resumable, owned by nobody.
            self.repo.set_status(run_id, "interrupted", release=True)
            raise
        report = self._report(run_id, time.monotonic() - started)
        self.repo.set_status(run_id, report.status, summary=_summary(report), release=True)
        self.app.audit(f"wave_run.{report.status}", entity_type="wave_run", entity_id=run_id,
                       details={"counts": report.counts, "stop_reason": report.stop_reason})
        await self.policy.run_finished(report)
        return report

    async def _run_wave(self, run_id: int, wave: int, roles: list[str], width: int) -> None:
        todo = [r for r in roles if self._status.get(r) not in _SETTLED]
        store = self.runner.store
        await self._emit(WaveEvent("wave_started", wave, total=len(roles),
                                   message=f"{len(todo)} to run, {width} at a time"))
        if store is not None:
            await record_wave(store, wave, run_id, {
                "status": "running", "roles": roles, "parallel": width > 1,
                "concurrency": width})
        gate = asyncio.Semaphore(width)

        async def one(role: str) -> None:
            async with gate:
                await self._run_role(run_id, wave, role)

        # A TaskGroup: an unexpected error (or Ctrl-C) stops the wave's other roles too,
        # leaving them resumable, instead of orphaning them.
        async with asyncio.TaskGroup() as group:
            for role in todo:
                group.create_task(one(role))
        outcomes = {r: self._status.get(r, "pending") for r in roles}
        if store is not None:
            await record_wave(store, wave, run_id, {"status": "settled", "outcomes": outcomes})
        await self._emit(WaveEvent("wave_finished", wave, total=len(roles),
                                   message=_count_text(outcomes)))

    def _blocker(self, role: str) -> str | None:
        for dep in sorted(self._deps.get(role, ())):
            status = self._status.get(dep, "pending")
            if status == "completed":
                continue
            root = self._blocked_by.get(dep)
            if status == "blocked" and root is not None:
                self._blocked_by[role] = root
                return f"depends on '{dep}', which is blocked by '{root}'"
            self._blocked_by[role] = dep
            return f"depends on '{dep}', which is {status}"
        return None

    async def _settle(self, run_id: int, outcome: RoleOutcome) -> None:
        self._status[outcome.role] = outcome.status
        self.repo.set_role(run_id, outcome.role, outcome.status,
                           execution_id=outcome.execution_id, reason=outcome.reason)
        await self._emit(WaveEvent("role_finished", outcome.wave, outcome.role, outcome.status,
                                   outcome.reason or "", outcome.execution_id))
        await self.policy.role_finished(outcome)

    async def _run_role(self, run_id: int, wave: int, role: str) -> None:
        reason = self._blocker(role)
        if reason is not None:
            await self._settle(run_id, RoleOutcome(role, wave, "blocked", reason=reason))
            return
        stop = self._stop_reason or self.policy.admit(role)
        if stop is not None:
            self._stop_reason = stop
            await self._settle(run_id, RoleOutcome(role, wave, "skipped", reason=stop))
            return
        self.repo.set_role(run_id, role, "running")
        await self._emit(WaveEvent("role_started", wave, role, "running"))
        began = time.monotonic()
        try:
            result = await self._drive(run_id, wave, role)
        except HarnessError as exc:
            # Refused before running: the role has an unfinished run of its own elsewhere,
            # or it is no longer known (removed since the run was planned).
            outcome = RoleOutcome(role, wave, "failed", reason=str(exc))
        else:
            outcome = _outcome(result, wave)
        outcome.duration_s = round(time.monotonic() - began, 3)
        self._outcomes[role] = outcome
        await self._settle(run_id, outcome)

    async def _drive(self, run_id: int, wave: int, role: str) -> RunResult:
        """Start the role, or continue the execution this wave run already has for it."""

        recorded: list[int] = []

        async def progress(event: ProgressEvent) -> None:
            if not recorded:  # name the execution at once: visible while it runs
                recorded.append(event.execution_id)
                self.repo.set_role(run_id, role, "running", execution_id=event.execution_id)
            await self._emit(WaveEvent("node", wave, role, event.status, event.node,
                                       event.execution_id, event.total))

        runner = self.runner
        last = self.repo.latest_execution(run_id, role)
        if last is not None and _ran_to_failure(runner, last):
            last = None  # it ran to its failure report: after a fix, a new run
        if last is None or last["status"] == "cancelled":
            result = await runner.start(role, auto_approve=self.policy.auto_approve,
                                        allow_untested=self.policy.allow_untested,
                                        wave_run_id=run_id, on_progress=progress,
                                        repair_rounds=self.policy.repair_rounds,
                                        scaffold_tests="never")
        else:
            eid, status = int(last["id"]), str(last["status"])
            if status in ("completed", "rejected"):
                return _result_of(runner.get(eid))
            request = repair_of(runner.get(eid)) if status == "paused" else None
            if request is not None and request["kind"] == "repair":
                if self.policy.repair_argv(request) is None:
                    return _result_of(runner.get(eid))  # waits for a repair
                await self._repair_headless(eid, role, request)
            elif status == "paused":
                facts = _facts(runner.get(eid))
                decision = self.policy.decide(role, facts) if facts is not None else None
                if decision is not None:
                    return await self._decided(eid, role, decision, progress)
                if facts is not None:  # waits for a person
                    return _result_of(runner.get(eid))
            result = await runner.resume(eid, on_progress=progress)
        while result.status == "paused" and result.interrupt is not None:
            asked = result.interrupt
            if asked.get("kind") == "repair":
                if self.policy.repair_argv(asked) is None:
                    break
                await self._repair_headless(result.execution_id, role, asked)
                result = await runner.resume(result.execution_id, on_progress=progress)
                continue
            decision = self.policy.decide(role, asked)
            if decision is None:
                break
            result = await self._decided(result.execution_id, role, decision, progress)
        return result

    async def _repair_headless(
        self, execution_id: int, role: str, request: dict[str, Any]
    ) -> None:
        """Run the policy's repair command in the role's worktree (the run re-tests after)."""
        from dag_harness_mcp.runner.process import run_process

        argv = self.policy.repair_argv(request) or []
        result = await run_process(
            argv, cwd=Path(str(request.get("worktree") or self.app.settings.repo_root)),
            timeout=self.policy.repair_timeout, tail_bytes=4000,
        )
        self.app.audit(
            "wave_run.repair_command", entity_type="execution", entity_id=execution_id,
            details={"role": role, "round": request.get("round"), "command": argv,
                     "exit_code": result.returncode, "timed_out": result.timed_out,
                     "output_tail": result.output_tail[-1000:]},
        )

    async def _decided(
        self, execution_id: int, role: str, decision: tuple[bool, str], progress: Any
    ) -> RunResult:
        approved, comment = decision
        self.app.audit("wave_run.decision", entity_type="execution", entity_id=execution_id,
                       details={"role": role, "approved": approved, "comment": comment})
        return await self.runner.resume(
            execution_id, approved=approved, comment=comment, on_progress=progress
        )

    def _report(self, run_id: int, duration: float) -> WaveRunReport:
        row = self.repo.require(run_id)
        roles = [
            RoleOutcome(
                role=str(r["role_name"]), wave=int(r["wave"]), status=str(r["status"]),
                execution_id=r["execution_id"], reason=r["reason"],
            )
            for r in self.repo.roles(run_id)
        ]
        for o in roles:
            seen = self._outcomes.get(o.role)
            if seen is not None:
                o.duration_s, o.mr_url = seen.duration_s, seen.mr_url
        counts = self.repo.counts(run_id)
        waves: dict[int, dict[str, Any]] = {}
        for o in roles:
            entry = waves.setdefault(o.wave, {"wave": o.wave, "roles": 0, "counts": {}})
            entry["roles"] += 1
            entry["counts"][o.status] = entry["counts"].get(o.status, 0) + 1
        return WaveRunReport(
            wave_run_id=run_id, status=run_status(counts), mode=str(row["mode"]),
            waves=[waves[w] for w in sorted(waves)], roles=roles, counts=counts,
            duration_s=round(duration, 3), stop_reason=self._stop_reason,
        )


def list_wave_runs(app: HarnessApp, *, limit: int = 20) -> list[dict[str, Any]]:
    """Recent wave runs, newest first, with their role counts (``harness wave-runs``)."""
    keys = ("id", "status", "mode", "from_wave", "to_wave", "concurrency", "auto_approve",
            "pid", "started_at", "finished_at")
    return [
        {**{k: row[k] for k in keys}, "counts": app.db.waves.counts(int(row["id"]))}
        for row in app.db.waves.list(limit=limit)
    ]


def _options(row: dict[str, Any]) -> dict[str, Any]:
    import json

    try:
        options = json.loads(row.get("options") or "{}")
    except (TypeError, ValueError):
        return {}
    return options if isinstance(options, dict) else {}


def _count_text(outcomes: dict[str, str]) -> str:
    counts: dict[str, int] = {}
    for status in outcomes.values():
        counts[status] = counts.get(status, 0) + 1
    return ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))


def _summary(report: WaveRunReport) -> dict[str, Any]:
    return {"counts": report.counts, "waves": report.waves, "duration_s": report.duration_s,
            "stop_reason": report.stop_reason}


def _outcome(result: RunResult, wave: int) -> RoleOutcome:
    status = _ROLE_STATUS.get(result.status, "failed")
    reason: str | None = None
    if status == "paused":
        if result.interrupt is not None and result.interrupt.get("kind") == "repair":
            reason = (f"waits for a repair of its failing tests in "
                      f"{result.interrupt.get('role_dir')}: then `harness resume "
                      f"{result.execution_id}`")
        elif result.interrupt is not None:
            reason = (f"waits for a decision: `harness resume {result.execution_id} --approve` "
                      "or `--reject`")
        else:
            reason = (f"paused before {', '.join(result.next_nodes)}: "
                      f"`harness resume {result.execution_id}`")
    elif status == "failed":
        reason = _failure_reason(result)
    elif status in ("rejected", "cancelled"):
        reason = f"execution {result.execution_id} was {status}"
    elif result.summary.get("unchanged"):
        reason = str(result.summary.get("message") or "already boxed up, nothing changed")
    return RoleOutcome(result.role, wave, status, result.execution_id, reason,
                       mr_url=result.mr_url)


def _ran_to_failure(runner: Runner, last: dict[str, Any]) -> bool:
    """A failed execution that ended in its failure report (a summary stored), rather than
    one whose node raised past its retries (that one is resumed, the node re-runs)."""
    return last["status"] == "failed" and bool(runner.get(int(last["id"]))["result"])


def _failure_reason(result: RunResult) -> str:
    if result.errors:
        return result.errors[-1]
    failing = [
        f"{t.get('kind')} ({t.get('failed')} failed)"
        for t in result.summary.get("tests") or []
        if isinstance(t, dict) and t.get("status") != "passed"
    ]
    if failing:
        return f"tests failed: {', '.join(failing)}; see `harness history {result.execution_id}`"
    node = result.summary.get("failed_node")
    return f"execution {result.execution_id} failed" + (f" in {node}" if node else "")


def _facts(execution: dict[str, Any]) -> dict[str, Any] | None:
    """What a paused execution's approval question holds, or None when it is paused at a
    static breakpoint rather than at the approval interrupt."""
    if "human_approval" not in (execution.get("next_nodes") or []):
        return None
    data = execution.get("checkpoint_data") or {}
    values = dict(data.get("values") or {})
    if "test_summary" not in values:
        return None
    return {"tests": values.get("test_summary") or [],
            "untested": bool(values.get("untested")),
            "regressions": values.get("regressions") or [],
            "mr_url": values.get("mr_url"), "role": values.get("role_name")}


def _result_of(execution: dict[str, Any]) -> RunResult:
    data = execution.get("checkpoint_data") or {}
    values = dict(data.get("values") or {})
    summary = execution.get("result") if isinstance(execution.get("result"), dict) else {}
    return RunResult(
        execution_id=int(execution["id"]), thread_id=str(execution["thread_id"]),
        role=str(execution["role_name"]), status=str(execution["status"]),
        next_nodes=list(execution.get("next_nodes") or []),
        interrupt=None, summary=dict(summary or {}),
        errors=[str(e) for e in values.get("errors") or []],
        issue_url=values.get("issue_url"), mr_url=values.get("mr_url"),
    )

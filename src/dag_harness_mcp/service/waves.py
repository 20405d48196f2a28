"""The wave executor: box up roles wave by wave through the Runner, a wave's roles in
parallel; a role whose dependency did not complete is ``blocked``. Recorded in
``wave_runs``/``wave_run_roles`` (executions carry the run's id), so :meth:`WaveExecutor.resume`
continues it in any process, also after ``kill -9``; docs/waves.md says more. What it reports
(events, each role's outcome, the run's report) and the policy it asks live here too."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from itertools import groupby
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dag_harness_mcp.errors import HarnessError, InvalidArgumentError, NotFoundError, WorkflowError
from dag_harness_mcp.service.roles import plan_waves
from dag_harness_mcp.service.run_types import ProgressEvent, RunResult, pid_alive, repair_of
from dag_harness_mcp.store.namespaces import record_wave

if TYPE_CHECKING:
    from dag_harness_mcp.service.app import HarnessApp
    from dag_harness_mcp.service.runs import Runner

__all__ = ["OnWaveEvent", "RoleOutcome", "WaveEvent", "WaveExecutor", "WavePolicy",
           "WaveRunReport", "WaveRunRow", "WaveTally", "count_text", "list_wave_runs", "run_status"]

_SETTLED = ("completed", "rejected")
_OWN_STATUS = ("completed", "failed", "rejected", "cancelled", "paused")
Progress = Callable[[ProgressEvent], Awaitable[None]]


@dataclass(frozen=True)
class WaveEvent:
    """``wave_started``, ``wave_finished``, ``role_started``, ``role_finished`` or ``node``."""

    kind: str
    wave: int
    role: str | None = None
    status: str | None = None
    message: str = ""
    execution_id: int | None = None
    total: int | None = None


OnWaveEvent = Callable[[WaveEvent], Awaitable[None]]


@dataclass(frozen=True)
class RoleOutcome:
    """Where one role of a wave run ended (``reason`` says why it is blocked/skipped/paused)."""

    role: str
    wave: int
    status: str
    execution_id: int | None = None
    reason: str | None = None
    duration_s: float | None = None
    mr_url: str | None = None


@dataclass(frozen=True)
class WaveTally:
    wave: int
    roles: int
    counts: dict[str, int]


@dataclass(frozen=True)
class WaveRunReport:
    wave_run_id: int
    status: str
    mode: str
    waves: list[WaveTally] = field(default_factory=list)
    roles: list[RoleOutcome] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    duration_s: float = 0.0
    stop_reason: str | None = None


def count_text(counts: Mapping[str, int]) -> str:
    """``"2 completed, 1 failed"``."""
    return ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))


def run_status(counts: Mapping[str, int]) -> str:
    """Completed when every role completed, interrupted when some wait (paused, skipped,
    pending, cancelled), else failed."""
    if any(counts.get(s) for s in ("paused", "skipped", "pending", "running", "cancelled")):
        return "interrupted"
    if any(counts.get(s) for s in ("failed", "blocked", "rejected")):
        return "failed"
    return "completed"


class WavePolicy:
    """The manual policy: runs approve themselves with ``auto_approve``, else they pause
    for a person (``harness resume N --approve``). HOTL subclasses it."""

    mode = "manual"
    # No agent repairs a role at a ``repair`` pause: roles fail fast, unless the policy
    # names a headless repair command.
    repair_rounds = 0
    repair_timeout = 1800.0

    def __init__(self, *, auto_approve: bool = False, allow_untested: bool = False) -> None:
        self.auto_approve = auto_approve
        self.allow_untested = allow_untested  # lets auto_approve merge a role without tests

    def run_started(self, wave_run_id: int) -> None:
        """Called when the executor starts (or resumes) driving the wave run."""

    def admit(self, role: str) -> str | None:
        """Called before a role starts: a reason not to start it (the run stops), or None."""
        return None

    def decide(self, role: str, facts: dict[str, Any]) -> tuple[bool, str] | None:
        """``(approved, comment)`` for a run waiting at the approval interrupt (``facts`` is
        its payload), or None to leave it waiting for a person. Auto-approve approves,
        except an untested role unless untested roles are allowed."""
        if not self.auto_approve or (facts.get("untested") and not self.allow_untested):
            return None
        return True, "auto-approved" + (" (untested, allowed)" if facts.get("untested") else "")

    def repair_argv(self, request: dict[str, Any]) -> list[str] | None:
        """The command that repairs a role paused for repair headless, or None."""
        return None

    async def role_finished(self, outcome: RoleOutcome) -> None:
        """After each role settles (completed, failed, blocked, paused, ...)."""

    async def run_finished(self, report: WaveRunReport) -> None:
        """After the wave run ends (any status)."""


class WaveExecutor:
    """``await WaveExecutor(runner).start(from_wave=0, to_wave=2)``; ``.resume()`` after a crash."""

    def __init__(
        self, runner: Runner, *, policy: WavePolicy | None = None,
        on_event: OnWaveEvent | None = None,
    ) -> None:
        self.runner = runner
        self.app = runner.app
        self.repo = runner.app.db.waves
        self.policy = policy if policy is not None else WavePolicy()
        self.on_event = on_event
        self._status: dict[str, str] = {}
        self._blocked_by: dict[str, str] = {}
        self._outcomes: dict[str, RoleOutcome] = {}
        self._deps: dict[str, set[str]] = {}
        self._stop_reason: str | None = None

    async def start(
        self, *, from_wave: int | None = None, to_wave: int | None = None,
        concurrency: int | None = None,
    ) -> WaveRunReport:
        """A new wave run over ``[from_wave, to_wave]`` (every wave by default)."""
        limit = concurrency if concurrency is not None else self.app.settings.concurrency
        if limit < 1:
            raise InvalidArgumentError("--concurrency", limit, "must be 1 or more")
        if from_wave is not None and to_wave is not None and from_wave > to_wave:
            raise InvalidArgumentError("--from/--to", (from_wave, to_wave),
                                       "--from must be <= --to")
        lo, hi = from_wave or 0, to_wave if to_wave is not None else 1 << 30
        waves = [w for w in plan_waves(self.app) if lo <= w.wave <= hi]
        if not waves:
            raise NotFoundError(
                "no roles in the requested waves; run `harness sync` and check `harness waves`")
        policy = self.policy
        with self.app.db.transaction():
            run_id = self.repo.create(
                mode=policy.mode, from_wave=from_wave, to_wave=to_wave, concurrency=limit,
                auto_approve=policy.auto_approve, pid=os.getpid(),
                options={"waves": [w.wave for w in waves],
                         "allow_untested": policy.allow_untested},
            )
            self.repo.add_roles(run_id, [(r, w.wave) for w in waves for r in w.roles])
        self.app.audit("wave_run.start", entity_type="wave_run", entity_id=run_id,
                       details={"from": from_wave, "to": to_wave, "concurrency": limit,
                                "mode": policy.mode,
                                "roles": sum(self.repo.counts(run_id).values())})
        return await self._execute(run_id)

    async def resume(self, wave_run_id: int | None = None) -> WaveRunReport:
        """Continue wave run ``wave_run_id`` (default: the newest one that did not complete)."""
        mode = self.policy.mode
        row = (self.repo.require(wave_run_id) if wave_run_id is not None
               else self.repo.latest_unfinished(mode=mode))
        if row is None:
            raise NotFoundError(
                f"no unfinished {mode} wave run to resume; start one with `harness run-waves`")
        run_id, owner = int(row["id"]), row["pid"]
        if row["status"] == "completed":
            raise WorkflowError(f"wave run {run_id} already completed; start a new one")
        if owner is not None and int(owner) != os.getpid() and pid_alive(int(owner)):
            raise WorkflowError(
                f"wave run {run_id} is running in process {owner}; wait for it or stop it")
        self.policy.auto_approve |= bool(row["auto_approve"])  # as the run was started
        try:
            options = json.loads(row.get("options") or "{}")
        except ValueError:
            options = {}
        if isinstance(options, dict) and options.get("allow_untested"):
            self.policy.allow_untested = True
        if not self.repo.claim(run_id, os.getpid(), expected_pid=owner):
            raise WorkflowError(f"wave run {run_id} was taken over by another process")
        # Blocked and skipped roles are decided anew; the rest continue from their executions.
        self.repo.reset_roles(run_id, ("blocked", "skipped", "cancelled"))
        self.app.audit("wave_run.resume", entity_type="wave_run", entity_id=run_id,
                       details={"from_status": row["status"], "crashed_owner": owner})
        return await self._execute(run_id)

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
        self._status = {str(r["role_name"]): str(r["status"])
                        for r in planned if r["status"] in _SETTLED}
        in_run = {str(r["role_name"]) for r in planned}
        self._deps = {}
        for edge in self.app.db.roles.edges():
            if edge["role"] in in_run and edge["depends_on"] in in_run:
                self._deps.setdefault(str(edge["role"]), set()).add(str(edge["depends_on"]))
        waves: dict[int, list[str]] = {}
        for r in planned:
            waves.setdefault(int(r["wave"]), []).append(str(r["role_name"]))
        try:
            for wave in sorted(waves):
                await self._run_wave(run_id, wave, waves[wave], 1 if wave in serial else limit)
        except BaseException:
            # Interrupted (Ctrl-C, task cancelled): leave it resumable, owned by nobody.
            self.repo.set_status(run_id, "interrupted", release=True)
            raise
        report = self._report(run_id, time.monotonic() - started)
        summary = {"counts": report.counts, "waves": [asdict(w) for w in report.waves],
                   "duration_s": report.duration_s, "stop_reason": report.stop_reason}
        self.repo.set_status(run_id, report.status, summary=summary, release=True)
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

        # An unexpected error (or Ctrl-C) stops the wave's other roles too, leaving them
        # resumable, instead of orphaning them.
        async with asyncio.TaskGroup() as group:
            for role in todo:
                group.create_task(one(role))
        outcomes = {r: self._status.get(r, "pending") for r in roles}
        if store is not None:
            await record_wave(store, wave, run_id, {"status": "settled", "outcomes": outcomes})
        await self._emit(WaveEvent("wave_finished", wave, total=len(roles),
                                   message=count_text(Counter(outcomes.values()))))

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
            outcome = _outcome(await self._drive(run_id, wave, role), wave)
        except HarnessError as exc:
            # Refused before running: the role has an unfinished run of its own elsewhere,
            # or it is no longer known (removed since the run was planned).
            outcome = RoleOutcome(role, wave, "failed", reason=str(exc))
        outcome = replace(outcome, duration_s=round(time.monotonic() - began, 3))
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
        # A run that ended in its failure report starts anew (after a fix); one whose node
        # raised past its retries is resumed (the node re-runs).
        if last is None or last["status"] == "cancelled" or (
            last["status"] == "failed" and runner.get(int(last["id"]))["result"]
        ):
            result = await runner.start(
                role, auto_approve=self.policy.auto_approve,
                allow_untested=self.policy.allow_untested, wave_run_id=run_id,
                on_progress=progress, repair_rounds=self.policy.repair_rounds,
                scaffold_tests="never")
        else:
            eid = int(last["id"])
            if last["status"] in _SETTLED:
                return runner.result(eid)
            asked = _question(runner.get(eid)) if last["status"] == "paused" else None
            if asked is None:
                result = await runner.resume(eid, on_progress=progress)
            else:
                answered = await self._answer(eid, role, asked, progress)
                if answered is None:  # waits for a person or a repair
                    return runner.result(eid)
                result = answered
        while result.status == "paused" and result.interrupt is not None:
            answered = await self._answer(result.execution_id, role, result.interrupt, progress)
            if answered is None:
                break
            result = answered
        return result

    async def _answer(
        self, execution_id: int, role: str, asked: dict[str, Any], progress: Progress
    ) -> RunResult | None:
        """Go on with a run paused with question ``asked`` as the policy says: run its repair
        command in the role's worktree (the run re-tests after), or decide its approval;
        None when the policy leaves it to a person."""
        from dag_harness_mcp.runner.process import run_process

        if asked.get("kind") == "repair":
            argv = self.policy.repair_argv(asked)
            if argv is None:
                return None
            done = await run_process(
                argv, cwd=Path(str(asked.get("worktree") or self.app.settings.repo_root)),
                timeout=self.policy.repair_timeout, tail_bytes=4000)
            self.app.audit(
                "wave_run.repair_command", entity_type="execution", entity_id=execution_id,
                details={"role": role, "round": asked.get("round"), "command": argv,
                         "exit_code": done.returncode, "timed_out": done.timed_out,
                         "output_tail": done.output_tail[-1000:]})
            return await self.runner.resume(execution_id, on_progress=progress)
        decision = self.policy.decide(role, asked)
        if decision is None:
            return None
        approved, comment = decision
        self.app.audit("wave_run.decision", entity_type="execution", entity_id=execution_id,
                       details={"role": role, "approved": approved, "comment": comment})
        return await self.runner.resume(
            execution_id, approved=approved, comment=comment, on_progress=progress)

    def _report(self, run_id: int, duration: float) -> WaveRunReport:
        roles = []
        for r in self.repo.roles(run_id):
            seen = self._outcomes.get(str(r["role_name"]))
            roles.append(RoleOutcome(
                str(r["role_name"]), int(r["wave"]), str(r["status"]), r["execution_id"],
                r["reason"], seen.duration_s if seen else None, seen.mr_url if seen else None))
        waves = []
        for wave, group in groupby(roles, key=lambda o: o.wave):
            statuses = [o.status for o in group]
            waves.append(WaveTally(wave, len(statuses), dict(Counter(statuses))))
        counts = self.repo.counts(run_id)
        return WaveRunReport(
            wave_run_id=run_id, status=run_status(counts),
            mode=str(self.repo.require(run_id)["mode"]), waves=waves, roles=roles,
            counts=counts, duration_s=round(duration, 3), stop_reason=self._stop_reason)


@dataclass(frozen=True)
class WaveRunRow:
    """One wave run as ``harness wave-runs`` lists it."""

    id: int
    status: str
    mode: str
    from_wave: int | None
    to_wave: int | None
    concurrency: int | None
    auto_approve: bool
    pid: int | None
    started_at: str
    finished_at: str | None
    counts: dict[str, int]


def list_wave_runs(app: HarnessApp, *, limit: int = 20) -> list[WaveRunRow]:
    """Recent wave runs, newest first, with their role counts."""
    return [
        WaveRunRow(
            int(r["id"]), str(r["status"]), str(r["mode"]), r["from_wave"], r["to_wave"],
            r["concurrency"], bool(r["auto_approve"]), r["pid"], str(r["started_at"]),
            r["finished_at"], app.db.waves.counts(int(r["id"])))
        for r in app.db.waves.list(limit=limit)
    ]


def _outcome(result: RunResult, wave: int) -> RoleOutcome:
    status = result.status if result.status in _OWN_STATUS else "failed"
    eid, asked = result.execution_id, result.interrupt
    reason: str | None = None
    if status == "paused" and asked is not None and asked.get("kind") == "repair":
        reason = (f"waits for a repair of its failing tests in {asked.get('role_dir')}: "
                  f"then `harness resume {eid}`")
    elif status == "paused" and asked is not None:
        reason = f"waits for a decision: `harness resume {eid} --approve` or `--reject`"
    elif status == "paused":
        reason = f"paused before {', '.join(result.next_nodes)}: `harness resume {eid}`"
    elif status == "failed":
        reason = _failure_reason(result)
    elif status in ("rejected", "cancelled"):
        reason = f"execution {eid} was {status}"
    elif result.summary.get("unchanged"):
        reason = str(result.summary.get("message") or "already boxed up, nothing changed")
    return RoleOutcome(result.role, wave, status, eid, reason, mr_url=result.mr_url)


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


def _question(execution: dict[str, Any]) -> dict[str, Any] | None:
    """What a paused execution asks: its repair request, or the facts of its approval
    question; None when it is paused at a static breakpoint."""
    request = repair_of(execution)
    if request is not None and request["kind"] == "repair":
        return request
    values = dict((execution.get("checkpoint_data") or {}).get("values") or {})
    if "human_approval" not in (execution.get("next_nodes") or []) or (
        "test_summary" not in values
    ):
        return None
    return {"tests": values.get("test_summary") or [],
            "untested": bool(values.get("untested")),
            "regressions": values.get("regressions") or [],
            "mr_url": values.get("mr_url"), "role": values.get("role_name")}


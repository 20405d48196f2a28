"""HOTL (human out of the loop): an autonomous wave run whose policy approves a role when its
tests all passed with no regression, else leaves it paused and notifies (:mod:`.notify`);
limits (roles, failures, cost since the start) and ``harness hotl stop`` end it starting roles.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dag_harness_mcp.clock import utc_now
from dag_harness_mcp.config import HotlSettings
from dag_harness_mcp.errors import NotFoundError, WorkflowError
from dag_harness_mcp.service.notify import Notice, Notifier, redact_webhook
from dag_harness_mcp.service.run_types import pid_alive
from dag_harness_mcp.service.waves import RoleOutcome, WavePolicy, WaveRunReport, count_text

if TYPE_CHECKING:
    from dag_harness_mcp.service.app import HarnessApp
    from dag_harness_mcp.service.runs import Runner
    from dag_harness_mcp.service.waves import OnWaveEvent

__all__ = ["HotlPolicy", "HotlReport", "HotlStatus", "HotlStop", "HotlWaveRun", "approval_decision",
           "effective_limits", "hotl_status", "run_hotl", "stop_hotl"]


def _why_not(facts: dict[str, Any], allow_untested: bool) -> str | None:
    """Why HOTL does not approve a role with these approval facts, or None: it does."""
    if facts.get("untested"):
        return None if allow_untested else (
            "untested role (no molecule scenario, no pytest suite); HOTL approves untested "
            "roles only with `hotl: {allow_untested: true}` in harness.yml (or --allow-untested)")
    tests = [t for t in facts.get("tests") or [] if isinstance(t, dict)]
    regressions = list(facts.get("regressions") or [])
    failing = [str(t.get("kind")) for t in tests if t.get("status") != "passed"]
    if not tests:
        return "no tests ran"
    if regressions:
        return f"{len(regressions)} regression(s): {', '.join(map(str, regressions[:5]))}"
    return f"tests not passing: {', '.join(failing)}" if failing else None


def approval_decision(
    facts: dict[str, Any], *, allow_untested: bool = False
) -> tuple[bool, str] | None:
    """Approve when the role's tests ran, all passed and none regressed; else None (pause).
    An untested role (only its syntax check ran) is approved only with ``allow_untested``."""
    if _why_not(facts, allow_untested) is not None:
        return None
    if facts.get("untested"):
        return True, "auto-approved by HOTL: untested role allowed (hotl.allow_untested)"
    kinds = ", ".join(str(t.get("kind")) for t in facts.get("tests") or [] if isinstance(t, dict))
    return True, f"auto-approved by HOTL: {kinds} passed, no regressions"


class HotlPolicy(WavePolicy):
    """Decides approvals, enforces the limits, counts and notifies."""

    mode = "hotl"

    def __init__(
        self, app: HarnessApp, limits: HotlSettings, hotl_run_id: int, notifier: Notifier
    ) -> None:
        super().__init__(auto_approve=False, allow_untested=limits.allow_untested)
        self.app = app
        self.limits = limits
        self.hotl_run_id = hotl_run_id
        self.notifier = notifier
        self.started_at = utc_now()
        self.started = self.done = self.failures = 0
        self.limit_hit: str | None = None
        self.stop_requested: str | None = None
        self._paused_why: dict[str, str] = {}
        if limits.repair_command:  # a headless repair: the repair rounds of the settings
            self.repair_rounds = app.settings.repair_rounds
            self.repair_timeout = limits.repair_timeout

    def repair_argv(self, request: dict[str, Any]) -> list[str] | None:
        if not self.limits.repair_command:
            return None
        values = {k: str(request.get(k) or "")
                  for k in ("role", "role_dir", "worktree", "execution_id")}
        return [part.format(**values) for part in self.limits.repair_command]

    def cost(self) -> float:
        return float(self.app.db.costs.total_cost(since=self.started_at))

    def admit(self, role: str) -> str | None:
        row = self.app.db.hotl.get(self.hotl_run_id)
        if row is not None and row["status"] == "stopping":
            self.stop_requested = f"stopped on request: {row['stop_reason'] or 'hotl stop'}"
            return self.stop_requested
        lim = self.limits
        if lim.max_roles is not None and self.started >= lim.max_roles:
            self.limit_hit = f"max_roles {lim.max_roles} reached"
        elif self.failures >= lim.max_failures:
            self.limit_hit = f"max_failures {lim.max_failures} reached"
        elif lim.max_cost_usd is not None and (spent := self.cost()) >= lim.max_cost_usd:
            self.limit_hit = f"max_cost_usd {lim.max_cost_usd:g} reached (spent {spent:.4f})"
        if self.limit_hit is not None:
            return self.limit_hit
        self.started += 1
        return None

    def run_started(self, wave_run_id: int) -> None:
        self.app.db.hotl.attach_wave_run(self.hotl_run_id, wave_run_id)

    def decide(self, role: str, facts: dict[str, Any]) -> tuple[bool, str] | None:
        decision = approval_decision(facts, allow_untested=self.limits.allow_untested)
        if decision is None:
            self._paused_why[role] = _why_not(facts, self.limits.allow_untested) or ""
        return decision

    async def role_finished(self, outcome: RoleOutcome) -> None:
        self.done += outcome.status == "completed"
        self.failures += outcome.status == "failed"
        self.app.db.hotl.update_counters(
            self.hotl_run_id, roles_done=self.done, failures=self.failures, cost_usd=self.cost())
        fields = {"role": outcome.role, "wave": outcome.wave,
                  "execution": outcome.execution_id or "-"}
        if outcome.status == "failed":
            await self.notifier.send(Notice(
                "role_failed", f"{outcome.role} failed", outcome.reason or "the run failed",
                "error", fields))
        elif outcome.status == "paused":
            why = self._paused_why.get(outcome.role, outcome.reason or "")
            await self.notifier.send(Notice(
                "role_paused", f"{outcome.role} needs a person",
                f"{why}; {outcome.reason or ''}".strip("; "), "warning", fields))

    async def run_finished(self, report: WaveRunReport) -> None:
        status, reason = self._final(report)
        self.app.db.hotl.finish(self.hotl_run_id, status, stop_reason=reason)
        level = {"completed": "success", "failed": "error"}.get(status, "warning")
        await self.notifier.send(Notice(
            "run_finished", f"HOTL run {self.hotl_run_id} {status}",
            count_text(report.counts) + (f"; {reason}" if reason else ""), level,
            {"wave run": report.wave_run_id, "roles done": self.done,
             "failures": self.failures, "seconds": report.duration_s}))

    def _final(self, report: WaveRunReport) -> tuple[str, str | None]:
        if self.limit_hit is not None:
            return "limit_reached", self.limit_hit
        if self.stop_requested is not None:
            return "stopped", self.stop_requested
        if report.status in ("completed", "failed"):
            failed = f"{report.counts.get('failed', 0)} role(s) failed"
            return report.status, failed if report.status == "failed" else None
        paused = report.counts.get("paused", 0)
        return "stopped", f"{paused} role(s) wait for a decision" if paused else report.status


@dataclass(frozen=True)
class HotlReport:
    hotl_run_id: int
    status: str
    stop_reason: str | None
    wave_run: WaveRunReport
    notifications: int


def effective_limits(app: HarnessApp, **overrides: Any) -> HotlSettings:
    """``settings.hotl`` with the given (non-None) options replacing its values."""
    values = app.settings.hotl.model_dump()
    values.update({k: v for k, v in overrides.items() if v is not None})
    return HotlSettings.model_validate(values)


def _log_path(app: HarnessApp, log_file: str | None) -> Path | None:
    return app.settings.repo_root / Path(log_file).expanduser() if log_file else None


def _settle_dead_runs(app: HarnessApp) -> None:
    """Refuse while a HOTL run is alive; mark those whose process died stopped."""
    for row in app.db.hotl.active():
        if pid_alive(row["pid"]):
            raise WorkflowError(
                f"HOTL run {row['id']} is already running in process {row['pid']}; "
                "see `harness hotl status` or stop it with `harness hotl stop`")
        app.db.hotl.finish(int(row["id"]), "stopped", stop_reason="its process died")


async def run_hotl(
    runner: Runner, limits: HotlSettings, *, from_wave: int | None = None,
    to_wave: int | None = None, concurrency: int | None = None, resume: bool = False,
    on_event: OnWaveEvent | None = None,
) -> HotlReport:
    """Run (or with ``resume`` continue) the waves autonomously in this process."""
    from dag_harness_mcp.service.waves import WaveExecutor

    app = runner.app
    _settle_dead_runs(app)
    wave_run = app.db.waves.latest_unfinished(mode="hotl") if resume else None
    if resume and wave_run is None:
        raise NotFoundError(
            "no unfinished HOTL wave run to resume; start one with `harness hotl start`")
    policy_doc = {**limits.model_dump(), "webhook_url": redact_webhook(limits.webhook_url)}
    hotl_id = app.db.hotl.create(policy=policy_doc, pid=os.getpid())
    notifier = Notifier(app.db, webhook_url=limits.webhook_url,
                        log_file=_log_path(app, limits.log_file),
                        timeout=limits.webhook_timeout, hotl_run_id=hotl_id)
    executor = WaveExecutor(runner, policy=HotlPolicy(app, limits, hotl_id, notifier),
                            on_event=on_event)
    app.audit("hotl.start", entity_type="hotl_run", entity_id=hotl_id, details=policy_doc)
    try:
        if wave_run is not None:
            report = await executor.resume(int(wave_run["id"]))
        else:
            report = await executor.start(
                from_wave=from_wave, to_wave=to_wave, concurrency=concurrency)
    except BaseException as exc:
        current = app.db.hotl.get(hotl_id)
        if current is not None and current["status"] in ("running", "stopping"):
            if isinstance(exc, Exception):
                status, why = "failed", f"{type(exc).__name__}: {exc}"
            else:
                status, why = "stopped", "interrupted; continue with `harness hotl start --resume`"
            app.db.hotl.finish(hotl_id, status, stop_reason=why)
        raise
    row = app.db.hotl.require(hotl_id)
    return HotlReport(hotl_id, str(row["status"]), row["stop_reason"], report,
                      len(app.db.hotl.notifications(hotl_id)))


@dataclass(frozen=True)
class HotlWaveRun:
    id: int
    counts: dict[str, int]
    roles: list[dict[str, Any]]  # its wave_run_roles rows


@dataclass(frozen=True)
class HotlStatus:
    """A HOTL run's row and policy, whether its process lives, its wave run, notifications."""

    id: int
    wave_run_id: int | None
    status: str
    policy: dict[str, Any]
    pid: int | None
    roles_done: int
    failures: int
    cost_usd: float
    stop_reason: str | None
    started_at: str
    updated_at: str
    finished_at: str | None
    alive: bool
    wave_run: HotlWaveRun | None
    notifications: list[dict[str, Any]]


def hotl_status(app: HarnessApp, hotl_run_id: int | None = None) -> HotlStatus:
    """The newest (or the given) HOTL run."""
    row = app.db.hotl.get(hotl_run_id) if hotl_run_id is not None else app.db.hotl.latest()
    if row is None:
        raise NotFoundError("no HOTL run yet; start one with `harness hotl start`")
    wave_run_id = row["wave_run_id"]
    wave_run = None if wave_run_id is None else HotlWaveRun(
        int(wave_run_id), app.db.waves.counts(int(wave_run_id)),
        app.db.waves.roles(int(wave_run_id)))
    notes = [{k: n[k] for k in ("id", "channel", "event", "delivered", "error", "created_at")}
             for n in app.db.hotl.notifications(int(row["id"]), limit=20)]
    return HotlStatus(**{
        **row, "policy": json.loads(row["policy"]) if row["policy"] else {},
        "alive": pid_alive(row["pid"]), "wave_run": wave_run, "notifications": notes})


@dataclass(frozen=True)
class HotlStop:
    stopping: list[int]
    reason: str


def stop_hotl(app: HarnessApp, reason: str = "harness hotl stop") -> HotlStop:
    """Ask the running HOTL run to stop starting roles (it finishes the running ones)."""
    active = app.db.hotl.active()
    if not active:
        raise NotFoundError("no HOTL run is running; see `harness hotl status`")
    stopped: list[int] = []
    for row in active:
        hid = int(row["id"])
        if not pid_alive(row["pid"]):
            app.db.hotl.finish(hid, "stopped", stop_reason="its process died")
            stopped.append(hid)
        elif app.db.hotl.request_stop(hid, reason):
            stopped.append(hid)
    app.audit("hotl.stop", entity_type="hotl_run", entity_id=",".join(map(str, stopped)),
              details={"reason": reason})
    return HotlStop(stopped, reason)

"""What the wave executor reports: events while it runs, the outcome of each role and of
the whole wave run, and the policy seam it asks before starting and after pausing a role."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "OnWaveEvent",
    "RoleOutcome",
    "WaveEvent",
    "WavePolicy",
    "WaveRunReport",
    "run_status",
]


@dataclass
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


@dataclass
class RoleOutcome:
    """Where one role of a wave run ended (``reason`` says why it is blocked/skipped/paused)."""

    role: str
    wave: int
    status: str
    execution_id: int | None = None
    reason: str | None = None
    duration_s: float | None = None
    mr_url: str | None = None


@dataclass
class WaveRunReport:
    wave_run_id: int
    status: str
    mode: str
    waves: list[dict[str, Any]] = field(default_factory=list)
    roles: list[RoleOutcome] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    duration_s: float = 0.0
    stop_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_status(counts: dict[str, int]) -> str:
    """A wave run's status from its role counts: completed when every role completed,
    interrupted when some wait (paused, skipped, pending, cancelled), else failed."""
    waiting = sum(counts.get(s, 0) for s in ("paused", "skipped", "pending", "running",
                                              "cancelled"))
    if waiting:
        return "interrupted"
    if any(counts.get(s, 0) for s in ("failed", "blocked", "rejected")):
        return "failed"
    return "completed"


class WavePolicy:
    """The manual policy: runs approve themselves with ``auto_approve``, else they pause
    for a person (``harness resume N --approve``). HOTL subclasses it."""

    mode = "manual"
    # A wave run has no agent to repair a role at a ``repair`` pause: its roles fail fast
    # (``repair_rounds`` 0), unless the policy names a headless repair command.
    repair_rounds = 0
    repair_timeout = 1800.0

    def __init__(self, *, auto_approve: bool = False, allow_untested: bool = False) -> None:
        self.auto_approve = auto_approve
        # auto-approve merges a role without tests only when this is set (--allow-untested)
        self.allow_untested = allow_untested

    def run_started(self, wave_run_id: int) -> None:
        """Called when the executor starts (or resumes) driving wave run ``wave_run_id``."""

    def admit(self, role: str) -> str | None:
        """Called before a role starts: a reason not to start it (the run stops), or None."""
        return None

    def decide(self, role: str, facts: dict[str, Any]) -> tuple[bool, str] | None:
        """For a run waiting at the approval interrupt: ``(approved, comment)`` to resume
        it with, or None to leave it waiting. ``facts`` is the interrupt payload (``tests``,
        ``regressions``, ``mr_url``...). With ``auto_approve`` a run paused there (at a
        static breakpoint) is approved, unless it is untested and untested roles are not
        allowed: then it waits for a person."""
        if not self.auto_approve or (facts.get("untested") and not self.allow_untested):
            return None
        return True, "auto-approved" + (" (untested, allowed)" if facts.get("untested") else "")

    def repair_argv(self, request: dict[str, Any]) -> list[str] | None:
        """For a run paused for repair (``request`` is its repair request): the command that
        repairs the role headless in its worktree, or None (the manual policy has none)."""
        return None

    async def role_finished(self, outcome: RoleOutcome) -> None:
        """After each role settles (completed, failed, blocked, paused, ...)."""

    async def run_finished(self, report: WaveRunReport) -> None:
        """After the wave run ends (any status)."""

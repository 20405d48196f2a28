"""What the wave executor reports (events, each role's outcome, the run's report) and the
policy it asks before it starts a role and when a role pauses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["OnWaveEvent", "RoleOutcome", "WaveEvent", "WavePolicy", "WaveRunReport", "WaveTally",
           "count_text", "run_status"]


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

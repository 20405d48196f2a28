"""Real repositories for wave and HOTL tests: roles with fast probe test commands.

``build_wave_repo(base, {"common": [], "web": ["common"]}, failing={"web"})`` writes the
roles (pytest only, none for ``untested`` roles; the test command is tests/support/wave_probe.py,
which logs start/end to ``base/probe.log`` and fails in a role holding ``FAIL``), a
``harness.yml`` with those commands, commits it on ``main`` and pushes it to a bare
``origin``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from dag_harness_mcp.service.example import publish_repository
from support.rolerepo import RoleTree

__all__ = ["WaveRepo", "build_wave_repo", "probe_events"]

PROBE = Path(__file__).resolve().parent / "wave_probe.py"


@dataclass
class WaveRepo:
    root: Path
    origin: Path
    log: Path

    def hang(self, role: str) -> None:
        """The role's next test run hangs (once) until released or killed."""
        (self.log.parent / f"hang-{role.replace('/', '_')}").write_text("")

    def set_failing(self, role: str, failing: bool) -> None:
        """Make the role's tests fail (or pass again) without touching the repository."""
        marker = self.log.parent / f"fail-{role.replace('/', '_')}"
        if failing:
            marker.write_text("")
        else:
            marker.unlink(missing_ok=True)

    def release(self, role: str) -> None:
        """Let the hanging test run of ``role`` go on."""
        (self.log.parent / f"release-{role.replace('/', '_')}").write_text("")

    def hung(self, role: str) -> bool:
        return (self.log.parent / f"hung-{role.replace('/', '_')}").exists()


def build_wave_repo(
    base: Path,
    roles: dict[str, list[str]],
    *,
    failing: set[str] | frozenset[str] = frozenset(),
    untested: set[str] | frozenset[str] = frozenset(),
    meet: int = 1,
    meet_timeout: float = 30,
    alone: set[str] | frozenset[str] = frozenset(),
    waves: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
    sandbox: str | None = None,
) -> WaveRepo:
    base.mkdir(parents=True, exist_ok=True)
    tree = RoleTree(base / "repo")
    for name, deps in roles.items():
        path = tree.role(name, deps=deps or None, pytest=name not in untested)
        if name in failing:
            (path / "FAIL").write_text("this role's tests fail\n")
    log = base / "probe" / "probe.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.touch()
    for name in alone:  # roles that have no one to meet
        (log.parent / f"meet-{name.replace('/', '_')}").write_text("1")
    config: dict[str, Any] = {
        "tests": {
            "pytest": [
                sys.executable, str(PROBE), str(log), "{role}", str(meet), str(meet_timeout),
            ],
            "molecule": ["true"],
            "syntax_check": ["true"],
            "retry_failed_tests": 0,
        },
    }
    if sandbox is not None:  # tests.sandbox: the probe logs outside the worktree
        config["tests"]["sandbox"] = sandbox
    if waves is not None:
        config["waves"] = waves
    config.update(extra or {})
    (tree.root / "harness.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    (tree.root / ".gitignore").write_text(".harness/\n")
    origin = base / "origin.git"
    publish_repository(tree.root, origin, message="roles")
    return WaveRepo(root=tree.root, origin=origin, log=log)


def probe_events(log: Path) -> list[tuple[str, str]]:
    """``[("start", role), ("end", role), ...]`` in the order the probes wrote them."""
    out: list[tuple[str, str]] = []
    for line in log.read_text().splitlines():
        kind, _, role = line.partition(" ")
        out.append((kind, role))
    return out

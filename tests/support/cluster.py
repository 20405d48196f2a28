"""A scale-out set-up for tests: a real role repository with a bare origin, a PostgreSQL
schema of its own, and ``harness worker`` / ``harness dispatch`` processes.

Every role's test command is ``sh``: it returns at once unless ``holds/<role>``
exists, in which case it writes ``holds/<role>.at`` and waits until the hold file
is removed (so a test can kill a worker while it is inside a role); it fails when
``holds/<role>.fail`` exists.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from dag_harness_mcp.config import Settings, load_settings
from dag_harness_mcp.service.example import publish_repository
from support.gitsh import git
from support.rolerepo import RoleTree

__all__ = ["Cluster", "wait_until"]

HARNESS = str(Path(sys.executable).with_name("harness"))

# role -> in-repo dependencies; waves: 0 = base, slowpoke, tools; 1 = web, db; 2 = app
ROLES: dict[str, list[str]] = {
    "base": [],
    "slowpoke": [],
    "tools": [],
    "web": ["base"],
    "db": ["slowpoke"],
    "app": ["web", "db"],
}


def wait_until(check: object, timeout: float = 120.0, what: str = "condition") -> None:
    """Poll ``check()`` until true (a set-up wait, not a timed assertion)."""
    assert callable(check)
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@dataclass
class Cluster:
    base: Path
    postgres_url: str
    schema: str = field(default_factory=lambda: f"t_dist_{uuid.uuid4().hex[:12]}")
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def root(self) -> Path:
        return self.base / "repo"

    @property
    def origin(self) -> Path:
        return self.base / "origin.git"

    @property
    def holds(self) -> Path:
        return self.base / "holds"

    @property
    def logs(self) -> Path:
        return self.base / "logs"

    def create_repo(self, roles: dict[str, list[str]] = ROLES, *, sleep: float = 0.0) -> None:
        """Commit ``roles`` (name -> in-repo dependencies); each role's test command
        takes ``sleep`` seconds besides the knobs."""
        self.holds.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        tree = RoleTree(self.root)
        for name, deps in roles.items():
            tree.role(name, deps=deps or None, pytest=True)
        hold = (
            f'if [ -e "{self.holds}/{{role}}.fail" ]; then echo failing; exit 1; fi; '
            f'if [ -e "{self.holds}/{{role}}" ]; then touch "{self.holds}/{{role}}.at"; fi; '
            f'while [ -e "{self.holds}/{{role}}" ]; do sleep 0.05; done; sleep {sleep:g}; echo ok'
        )
        config = {"tests": {"pytest": ["sh", "-c", hold]}}
        (self.root / "harness.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
        publish_repository(self.root, self.origin, message="roles")

    # -- settings shared by every process -------------------------------------------

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_", "GITLAB_"))}
        env.update({
            "HARNESS_REPO_ROOT": str(self.root),
            "HARNESS_DB_PATH": str(self.base / "state" / "harness.db"),
            "HARNESS_WORKTREE_ROOT": str(self.base / "worktrees"),
            "HARNESS_FORGE": "local",
            "HARNESS_POSTGRES_URL": self.postgres_url,
            "HARNESS_POSTGRES_SCHEMA": self.schema,
        })
        return env

    def settings(self) -> Settings:
        return load_settings(environ=self.env())

    # -- processes --------------------------------------------------------------------

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        out = (self.logs / f"{name}.out").open("wb")
        err = (self.logs / f"{name}.err").open("wb")
        proc = subprocess.Popen([HARNESS, *args], stdout=out, stderr=err, env=self.env())
        out.close()
        err.close()
        self.procs.append(proc)
        return proc

    def start_worker(self, name: str, *extra: str) -> subprocess.Popen[bytes]:
        return self.start(
            name, "worker", "--name", name, "--heartbeat", "0.5", "--poll", "0.5", *extra
        )

    def wait(
        self, check: object, what: str, timeout: float = 120.0,
        alive: tuple[subprocess.Popen[bytes], ...] = (),
    ) -> None:
        """``wait_until`` (failing early when a process of ``alive`` ends) that reports
        every process's log when it fails."""
        assert callable(check)

        def done() -> bool:
            for proc in alive:
                if proc.poll() is not None:
                    raise AssertionError(f"{proc.args} ended with {proc.returncode}")
            return bool(check())

        try:
            wait_until(done, timeout, what)
        except AssertionError as exc:
            names = sorted(p.stem for p in self.logs.glob("*.err"))
            logs = "\n".join(f"--- {n}\n{self.log(n)}" for n in names)
            raise AssertionError(f"{exc}\n{logs}") from None

    def log(self, name: str) -> str:
        parts = []
        for suffix in ("out", "err"):
            path = self.logs / f"{name}.{suffix}"
            if path.exists():
                parts.append(path.read_text(errors="replace")[-6000:])
        return "\n".join(parts)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for hold in self.holds.glob("*"):
            hold.unlink()

    # -- what happened in origin ----------------------------------------------------------

    def boxup_commits(self, role: str) -> list[str]:
        """Commits anywhere in origin whose subject is ``box-up: <role>``."""
        out = git(self.origin, "log", "--all", "--format=%H %s")
        return [line.split()[0] for line in out.splitlines() if line.split(" ", 1)[1] ==
                f"box-up: {role}"]

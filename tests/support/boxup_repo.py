"""A real git repository of roles, a bare ``origin`` and the knobs box-up tests turn.

``BoxUpRepo.create(tmp_path)`` writes roles with a RoleTree, commits them on
``main`` and pushes to a bare ``origin.git``. Every knob is a file in ``marks``:

- ``fail-<test>`` makes that role test fail (``test_a``, ``test_b``; ``molecule``
  fails the fast molecule stand-in's verify step);
- ``hold-<point>`` makes the run wait at that point, after writing ``at-<point>``,
  until the file is removed (``done-<point>`` is written when it goes on). Points:
  ``worktree`` (git post-checkout of ``git worktree add``), ``commit`` (post-commit),
  ``push`` (the origin's post-receive), ``molecule`` (the test command, held once:
  see ``fake_molecule.py``), and
  ``issue`` / ``mr`` (after the forge created them; see ``boxup_driver.py``).

The origin's post-receive hook appends every pushed ref to ``marks/pushes.log``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dag_harness_mcp.config import Settings, load_settings
from dag_harness_mcp.service.example import publish_repository
from support.rolerepo import RoleTree

__all__ = ["BoxUpRepo", "wait_for"]

HERE = Path(__file__).resolve().parent
FAKE_MOLECULE = HERE / "fake_molecule.py"

_ROLE_TESTS = '''\
from pathlib import Path

MARKS = Path({marks!r})


def test_a():
    assert not (MARKS / "fail-test_a").exists()


def test_b():
    assert not (MARKS / "fail-test_b").exists()
'''

# A role whose pytest fails until its defaults are fixed (the repair loop's tests).
BROKEN_DEFAULTS = "---\nbroken_port: 80\n"
FIXED_DEFAULTS = "---\nbroken_port: 8080\n"
_BROKEN_TESTS = '''\
from pathlib import Path

import yaml

ROLE = Path(__file__).resolve().parents[1]


def test_port_is_the_application_port():
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    assert defaults["broken_port"] == 8080, "the application listens on 8080"


def test_role_has_tasks():
    assert (ROLE / "tasks" / "main.yml").is_file()
'''

_HOLD = '''\
if [ -f "{marks}/hold-{point}" ]; then
  touch "{marks}/at-{point}"
  while [ -f "{marks}/hold-{point}" ]; do sleep 0.05; done
  touch "{marks}/done-{point}"
fi
'''


def _hook(path: Path, body: str) -> None:
    path.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    path.chmod(0o755)


def wait_for(path: Path, proc: subprocess.Popen[str] | None = None, timeout: float = 180) -> None:
    """Wait until ``path`` exists (failing early if ``proc`` died)."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"the run ended before {path.name}: {out}\n{err}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} never appeared")
        time.sleep(0.02)


@dataclass
class BoxUpRepo:
    base: Path
    root: Path
    origin: Path
    marks: Path

    @classmethod
    def create(cls, tmp_path: Path) -> BoxUpRepo:
        """Roles ``common`` (molecule + pytest), ``web`` (pytest, depends on common) and
        ``db`` (molecule only), committed and pushed."""
        repo = cls(tmp_path, tmp_path / "repo", tmp_path / "origin.git", tmp_path / "marks")
        repo.marks.mkdir(parents=True)
        tree = RoleTree(repo.root)
        tree.role("common", molecule=True, pytest=True)
        tree.role("web", deps=["common"], pytest=True)
        tree.role("db", molecule=True)
        for role in ("common", "web"):
            test_file = tree.roles_dir / role / "tests" / "test_role.py"
            test_file.write_text(_ROLE_TESTS.format(marks=str(repo.marks)), encoding="utf-8")
        publish_repository(repo.root, repo.origin, message="roles")
        hooks = repo.root / ".git" / "hooks"
        _hook(hooks / "post-checkout", _HOLD.format(marks=repo.marks, point="worktree"))
        _hook(hooks / "post-commit", _HOLD.format(marks=repo.marks, point="commit"))
        _hook(
            repo.origin / "hooks" / "post-receive",
            f'cat >> "{repo.marks}/pushes.log"\n' + _HOLD.format(marks=repo.marks, point="push"),
        )
        return repo

    def add_broken_role(self, name: str = "broken") -> Path:
        """Add role ``name`` (molecule + pytest) whose pytest fails until
        ``defaults/main.yml`` says ``broken_port: 8080`` (:data:`FIXED_DEFAULTS`), commit and
        push it. Its molecule stand-in fails while ``molecule-fails`` exists in the role."""
        role = RoleTree(self.root).role(name, molecule=True, pytest=True)
        (role / "defaults").mkdir(exist_ok=True)
        (role / "defaults" / "main.yml").write_text(BROKEN_DEFAULTS, encoding="utf-8")
        (role / "tests" / "test_role.py").write_text(_BROKEN_TESTS, encoding="utf-8")
        self.publish(f"role {name}")
        return role

    def add_untested_role(self, name: str = "bare") -> Path:
        """Add role ``name`` with neither a molecule scenario nor a pytest suite; push it."""
        role = RoleTree(self.root).role(name)
        self.publish(f"role {name}")
        return role

    def publish(self, message: str) -> None:
        """Commit everything in the checkout on main (:meth:`commit_main`) and push it."""
        self.commit_main(message)
        subprocess.run(["git", "push", "-q", "origin", "main"], cwd=self.root, check=True,
                       capture_output=True)

    # -- settings ---------------------------------------------------------------

    def overrides(self, *, sandbox: str | None = None, **extra: Any) -> dict[str, Any]:
        """Settings values (JSON-safe, for a driver process too): fast test commands;
        ``sandbox`` sets ``tests.sandbox`` (the ``marks`` knobs are outside the worktree, so
        a re-test in the sandbox cannot see them)."""
        values: dict[str, Any] = {
            "repo_root": str(self.root),
            "db_path": str(self.base / "state" / "harness.db"),
            "worktree_root": str(self.base / "worktrees"),
            "tests": {
                "molecule": ["{python}", str(FAKE_MOLECULE), str(self.marks)],
                # real pytest on the role's tests, without this venv's plugins (2 s less)
                "pytest": ["env", "PYTEST_DISABLE_PLUGIN_AUTOLOAD=1", "{python}", "-m", "pytest",
                           "-q", "-rA", "-p", "no:cacheprovider", "tests"],
            },
        }
        values.update(extra)
        if sandbox is not None:
            values["tests"] = {**values["tests"], "sandbox": sandbox}
        return values

    def settings(self, **extra: Any) -> Settings:
        return load_settings(self.overrides(**extra), environ={})

    def settings_file(self, **extra: Any) -> Path:
        path = self.base / "settings.json"
        path.write_text(json.dumps(self.overrides(**extra)), encoding="utf-8")
        return path

    # -- knobs ------------------------------------------------------------------

    def mark(self, name: str) -> Path:
        path = self.marks / name
        path.write_text("1", encoding="utf-8")
        return path

    def commit_main(self, message: str) -> str:
        """Commit everything in the checkout on ``main`` (not pushed); the new sha."""
        subprocess.run(["git", "add", "--all"], cwd=self.root, check=True)
        subprocess.run(["git", "commit", "--quiet", "-m", message], cwd=self.root, check=True)
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=self.root, check=True,
                              capture_output=True, text=True).stdout.strip()

    def pushes(self, branch: str) -> int:
        log = self.marks / "pushes.log"
        if not log.exists():
            return 0
        ref = f"refs/heads/{branch}"
        return sum(1 for line in log.read_text().splitlines() if line.endswith(" " + ref))

    # -- a box-up in another process ----------------------------------------------

    def driver(self, *args: str, **extra: Any) -> list[str]:
        return [sys.executable, str(HERE / "boxup_driver.py"), str(self.settings_file(**extra)),
                str(self.marks), *args]

    def run_driver(self, *args: str, **extra: Any) -> dict[str, Any]:
        """Run the driver to its end; its RunResult as a dict."""
        done = subprocess.run(
            self.driver(*args, **extra), capture_output=True, text=True, timeout=300,
            env=driver_env(),
        )
        assert done.returncode == 0, done.stderr
        result: dict[str, Any] = json.loads(done.stdout)
        return result

    def start_driver(self, *args: str, **extra: Any) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.driver(*args, **extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env=driver_env(),
        )


def driver_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_", "GITLAB_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), *sys.path])
    return env

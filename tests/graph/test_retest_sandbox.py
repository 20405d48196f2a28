"""The workflow's own re-test after a repair pause runs in the OS sandbox: test code the
agent planted in the worktree (a ``conftest.py``) can write nothing outside the worktree,
move no branch of origin and touch neither the StateDB nor the checkpoints; a genuine fix
still re-tests green there. ``tests.sandbox: never`` keeps the old, unconfined re-test."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.roles import sync_roles
from dag_harness_mcp.service.runs import Runner
from support.boxup_repo import FIXED_DEFAULTS, BoxUpRepo
from support.fence import require_bwrap
from support.gitsh import git

# Planted by the "repair": each attack is tried when pytest loads the conftest, and its
# outcome is printed in pytest's terminal summary (kept in the run's stored output).
_CONFTEST = '''\
import sqlite3
import subprocess
from pathlib import Path

RESULTS = {{}}


def _try(name, attack):
    try:
        attack()
    except Exception as exc:  # the attack failing is the point
        RESULTS[name] = "refused: " + type(exc).__name__ + " " + str(exc)[:120]
    else:
        RESULTS[name] = "done"


def _write(path):
    Path(path).write_text("planted by the agent's test code\\n")


def _table(path):
    con = sqlite3.connect(path, timeout=2)
    con.execute("CREATE TABLE IF NOT EXISTS planted_by_tests (x)")
    con.commit()
    con.close()


def _push():
    def out(*args):
        return subprocess.run(["git", *args], check=True, capture_output=True,
                              text=True).stdout.strip()
    head = out("rev-parse", "HEAD")
    evil = out("-c", "user.name=agent", "-c", "user.email=agent@example.invalid",
               "commit-tree", "-p", head, "-m", "pushed by test code", head + "^{{tree}}")
    out("push", "-q", "--force", "origin", evil + ":refs/heads/main")


_try("write-outside", lambda: _write({outside!r}))
_try("write-repository", lambda: _write({in_repo!r}))
_try("write-statedir", lambda: _write({state_dir!r}))
_try("statedb", lambda: _table({db!r}))
_try("checkpoints", lambda: _table({checkpoints!r}))
_try("push-main", _push)


def pytest_terminal_summary(terminalreporter):
    for name, outcome in sorted(RESULTS.items()):
        terminalreporter.write_line(f"ATTACK {{name}}: {{outcome}}")
'''

_ATTACKS = ("checkpoints", "push-main", "statedb", "write-outside", "write-repository",
            "write-statedir")


@pytest.fixture
def lab(boxup: BoxUpRepo) -> BoxUpRepo:
    require_bwrap()
    boxup.add_broken_role("broken")
    return boxup


def _open(boxup: BoxUpRepo, **extra: str) -> HarnessApp:
    app = HarnessApp.open(boxup.settings(**extra))
    sync_roles(app)
    return app


@pytest.fixture
def app(lab: BoxUpRepo) -> Iterator[HarnessApp]:
    app = _open(lab)
    yield app
    app.close()


def _plant(boxup: BoxUpRepo, app: HarnessApp, role_dir: Path) -> dict[str, Path]:
    """The genuine fix plus a conftest.py that attacks; the attack targets."""
    targets = {"outside": boxup.base / "outside.txt", "in_repo": boxup.root / "planted.txt",
               "state_dir": app.settings.database_path.parent / "planted.txt",
               "db": app.settings.database_path, "checkpoints": app.settings.checkpoint_path}
    (role_dir / "defaults" / "main.yml").write_text(FIXED_DEFAULTS, encoding="utf-8")
    (role_dir / "tests" / "conftest.py").write_text(
        _CONFTEST.format(**{k: str(v) for k, v in targets.items()}), encoding="utf-8")
    return targets


def _attacks(app: HarnessApp, execution_id: int) -> dict[str, str]:
    """What the planted conftest reported in the last pytest run of the execution."""
    [*_, last] = [r for r in app.db.tests.for_execution(execution_id) if r["kind"] == "pytest"]
    found = {}
    for line in str(last["output_tail"]).splitlines():
        if line.startswith("ATTACK "):
            name, _, outcome = line[len("ATTACK "):].partition(": ")
            found[name] = outcome
    return found


def _tables(path: Path) -> set[str]:
    con = sqlite3.connect(path)
    try:
        return {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
    finally:
        con.close()


async def test_test_code_planted_during_a_repair_cannot_escape_the_worktree_on_the_retest(
    lab: BoxUpRepo, app: HarnessApp
) -> None:
    origin_main = git(lab.origin, "rev-parse", "main")
    pushes = lab.pushes("main")
    async with Runner(app) as runner:
        paused = await runner.start("broken")
        assert paused.interrupt is not None and paused.interrupt["kind"] == "repair"
        targets = _plant(lab, app, Path(paused.interrupt["role_dir"]))
        approval = await runner.resume(paused.execution_id)

    # every attack ran, and each was refused (a write under /tmp outside the worktree lands
    # in the sandbox's private /tmp, gone with it)
    attacks = _attacks(app, paused.execution_id)
    assert sorted(attacks) == list(_ATTACKS)
    refused = {k: v for k, v in attacks.items() if k != "write-outside"}
    assert all(v.startswith("refused") for v in refused.values()), attacks
    assert not any(targets[k].exists() for k in ("outside", "in_repo", "state_dir"))
    assert git(lab.origin, "rev-parse", "main") == origin_main
    assert lab.pushes("main") == pushes
    assert "planted_by_tests" not in _tables(targets["db"])
    assert "planted_by_tests" not in _tables(targets["checkpoints"])
    # the fix itself re-tested green in the sandbox and the run goes on to the person
    assert (approval.status, approval.next_nodes) == ("paused", ["human_approval"])


async def test_a_genuine_fix_retests_green_inside_the_sandbox_and_reaches_approval(
    lab: BoxUpRepo, app: HarnessApp
) -> None:
    async with Runner(app) as runner:
        paused = await runner.start("broken")
        assert paused.interrupt is not None
        role_dir = Path(paused.interrupt["role_dir"])
        (role_dir / "defaults" / "main.yml").write_text(FIXED_DEFAULTS, encoding="utf-8")
        # the first runs were unconfined, the re-tests are not
        (role_dir / "tests" / "test_where.py").write_text(
            "import os\n\n\ndef test_runs_in_the_sandbox():\n"
            "    assert os.environ.get('HARNESS_SANDBOX') == '1'\n", encoding="utf-8")
        approval = await runner.resume(paused.execution_id)

    assert (approval.status, approval.next_nodes) == ("paused", ["human_approval"])
    rows = app.db.tests.for_execution(paused.execution_id)
    runs = [(r["kind"], r["status"], r["passed"]) for r in rows]
    # the first runs (the default branch's code) unconfined, the re-tests confined:
    # pytest, then both kinds
    first = [r for r in rows if not str(r["command"]).startswith("[sandbox] ")]
    assert sorted((r["kind"], r["status"]) for r in first) == [
        ("molecule", "passed"), ("pytest", "failed"), ("pytest", "failed")]
    assert runs[-3:-2] == [("pytest", "passed", 3)]
    assert sorted(runs[-2:]) == [("molecule", "passed", 3), ("pytest", "passed", 3)]
    assert all(str(r["command"]).startswith("[sandbox] ") for r in rows[-3:])


async def test_without_bubblewrap_the_retest_fails_with_an_environment_error_and_runs_nothing(
    lab: BoxUpRepo, app: HarnessApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with Runner(app) as runner:
        paused = await runner.start("broken")
        assert paused.interrupt is not None
        targets = _plant(lab, app, Path(paused.interrupt["role_dir"]))
        monkeypatch.setenv("HARNESS_BWRAP", "")  # no bubblewrap on this machine
        done = await runner.resume(paused.execution_id)

    assert done.status == "failed"
    [error] = [e for e in done.errors if "sandbox" in e]
    assert "environment problem" in error and "apt-get install bubblewrap" in error
    assert "`harness box-up-role broken`" in error
    assert _attacks(app, paused.execution_id) == {}  # the planted code never ran
    assert not targets["outside"].exists() and not targets["in_repo"].exists()


async def test_with_tests_sandbox_never_the_retest_runs_unconfined_as_before(
    lab: BoxUpRepo,
) -> None:
    app = _open(lab, sandbox="never")
    origin_main = git(lab.origin, "rev-parse", "main")
    try:
        async with Runner(app) as runner:
            paused = await runner.start("broken")
            assert paused.interrupt is not None
            targets = _plant(lab, app, Path(paused.interrupt["role_dir"]))
            await runner.resume(paused.execution_id)
        attacks = _attacks(app, paused.execution_id)
    finally:
        app.close()

    # the same planted code does its damage when unconfined (what the sandbox prevents)
    assert attacks == dict.fromkeys(_ATTACKS, "done")
    assert all(targets[k].exists() for k in ("outside", "in_repo", "state_dir"))
    assert git(lab.origin, "rev-parse", "main") != origin_main
    assert "planted_by_tests" in _tables(targets["db"])

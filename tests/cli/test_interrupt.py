"""Ctrl-C in a real ``harness`` process: the run is paused (not left 'running'), the
command says how to resume, and the resume finishes the unfinished node."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from support.boxup_repo import BoxUpRepo, driver_env, wait_for
from support.cli import harness_json

HARNESS = Path(sys.executable).with_name("harness")


def _gone(pid: int, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_sigint_during_molecule_pauses_the_run_and_names_the_resume_command(
    synced: tuple[BoxUpRepo, list[str]],
) -> None:
    repo, args = synced
    repo.mark("hold-molecule")
    proc = subprocess.Popen(
        [str(HARNESS), *args, "box-up-role", "db"], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=driver_env(),
    )
    wait_for(repo.marks / "at-molecule", proc)
    molecule_pid = int((repo.marks / "at-molecule").read_text())

    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)

    assert proc.returncode == 130, (out, err)
    said = " ".join(err.split())
    assert "interrupted: execution 1 (db) is paused before run_molecule" in said
    assert "continue with `harness resume 1`" in said
    assert _gone(molecule_pid), "the molecule run outlived its harness"
    listed = harness_json([*args, "executions", "--json"])
    assert [(r["id"], r["status"], r["next_nodes"]) for r in listed] == [
        (1, "paused", ["run_molecule"])]
    audit = harness_json([*args, "audit", "--json"])
    assert any(a["action"] == "execution.interrupted" for a in audit)

    for held in repo.marks.glob("held-*"):
        held.unlink()
    resumed = harness_json([*args, "resume", "1", "--json"])
    assert (resumed["status"], resumed["next_nodes"]) == ("paused", ["human_approval"])
    assert (repo.marks / "done-molecule").exists() is False  # the held run never went on

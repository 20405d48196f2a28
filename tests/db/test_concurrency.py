"""Many processes write to one SQLite file at once: no 'database is locked', nothing lost."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from dag_harness_mcp.db import SQLiteStateDB

WRITER = Path(__file__).parents[1] / "support" / "db_writer.py"
PROCESSES = 8
TXNS = 60
PER_TXN = 5


def test_eight_writer_processes_lose_nothing_and_never_see_a_lock_error(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"  # fresh: the processes also race to apply the migrations
    procs = [
        subprocess.Popen(
            [sys.executable, str(WRITER), str(path), f"w{i}", str(TXNS), str(PER_TXN)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(PROCESSES)
    ]
    try:
        # The barrier: every process has opened (and migrated) the database before any
        # of them writes, so all eight contend for the write lock at the same moment.
        for proc in procs:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready"
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = [proc.communicate(timeout=120) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert "locked" not in err
        assert out.strip() == f"done {TXNS * PER_TXN}"

    db = SQLiteStateDB(path)
    try:
        rows = db.fetchall(
            "SELECT id, actor, details FROM audit_log WHERE action = 'concurrency_probe'"
            " ORDER BY id"
        )
        versions = db.fetchall("SELECT version FROM schema_migrations")
    finally:
        db.close()
    assert len(rows) == PROCESSES * TXNS * PER_TXN
    assert Counter(r["actor"] for r in rows) == {f"w{i}": TXNS * PER_TXN for i in range(PROCESSES)}
    for i in range(PROCESSES):
        seqs = [json.loads(r["details"])["seq"] for r in rows if r["actor"] == f"w{i}"]
        assert seqs == list(range(TXNS * PER_TXN))  # each writer's rows, complete and in order
    # Every migration recorded once even though eight processes raced to apply them.
    assert len(versions) == len({v["version"] for v in versions})

"""A role's test command for wave tests: records its start and end in a shared log.

``wave_probe.py LOG ROLE MEET [PATIENCE]`` appends ``start ROLE``, then waits (up to
PATIENCE seconds, default 30) until the log shows MEET roles inside at once since it
started (so roles that may overlap do overlap; ``meet-ROLE`` beside the log overrides
MEET for one role), then appends ``end ROLE``. Exits 1
when the role directory (the cwd) holds a ``FAIL`` file or ``fail-ROLE`` is beside
the log. With a ``hang-ROLE`` file
beside the log it writes ``hung-ROLE`` and waits, once, until ``release-ROLE``
appears (or the test kills it); a second run goes through.
"""

from __future__ import annotations

import fcntl
import sys
import time
from pathlib import Path


def _append(log: Path, line: str) -> None:
    with log.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.write(line + "\n")


def _most_since_start(log: Path, role: str) -> int:
    """The most roles inside at once in the log since ``role`` started."""
    inside: set[str] = set()
    most, mine = 0, False
    for line in log.read_text().splitlines():
        kind, _, name = line.partition(" ")
        if kind == "start":
            inside.add(name)
            mine = mine or name == role
        elif kind == "end":
            inside.discard(name)
        if mine:
            most = max(most, len(inside))
    return most


def main() -> int:
    log, role, meet = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    patience = float(sys.argv[4]) if len(sys.argv) > 4 else 30.0
    _append(log, f"start {role}")
    safe = role.replace("/", "_")
    own = log.parent / f"meet-{safe}"
    if own.exists():
        meet = int(own.read_text())
    hang, hung = log.parent / f"hang-{safe}", log.parent / f"hung-{safe}"
    release = log.parent / f"release-{safe}"
    if hang.exists() and not hung.exists():
        hung.write_text("")
        until = time.monotonic() + 600
        while not release.exists() and time.monotonic() < until:
            time.sleep(0.1)
    deadline = time.monotonic() + patience
    while _most_since_start(log, role) < meet and time.monotonic() < deadline:
        time.sleep(0.05)
    _append(log, f"end {role}")
    failing = Path("FAIL").exists() or (log.parent / f"fail-{safe}").exists()
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())

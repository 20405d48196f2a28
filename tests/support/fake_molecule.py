"""A fast stand-in for ``molecule test``: prints molecule's step report, steered by files.

``python fake_molecule.py MARKS``: takes ~0.6 s; ``MARKS/fail-molecule`` (or a file
``molecule-fails`` in the role, its working directory) fails the verify step (exit 1);
``MARKS/hold-molecule`` is taken by one run, which writes its pid to ``MARKS/at-molecule``
and waits while ``MARKS/held-<pid>`` exists.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

marks = Path(sys.argv[1])
hold = marks / "hold-molecule"
held = marks / f"held-{os.getpid()}"
try:
    hold.rename(held)  # only one run holds: a resumed run's molecule goes straight on
except FileNotFoundError:
    pass
else:
    # whole or not at all: a test reads the pid as soon as the file exists
    (marks / "at-molecule.tmp").write_text(str(os.getpid()))
    os.replace(marks / "at-molecule.tmp", marks / "at-molecule")
    while held.exists():
        time.sleep(0.05)
    (marks / "done-molecule").write_text("1")
time.sleep(0.6)
failing = (marks / "fail-molecule").exists() or Path("molecule-fails").exists()
verify = "Failed" if failing else "Successful"
for step, state in (("converge", "Successful"), ("idempotence", "Successful"), ("verify", verify)):
    print(f"INFO     [default > {step}] Executed: {state}", flush=True)
sys.exit(1 if verify == "Failed" else 0)

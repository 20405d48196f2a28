"""A synchronous ``git`` for test set-up and inspection (the code under test stays async)."""

from __future__ import annotations

import subprocess
from pathlib import Path

__all__ = ["git"]


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd``, fail the test on error, return stripped stdout."""
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout.strip()

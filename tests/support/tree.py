"""Byte-level snapshots of directory trees, to prove a command changed nothing."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

__all__ = ["Harness", "snapshot"]

Harness = Callable[..., subprocess.CompletedProcess[str]]


def snapshot(*roots: Path) -> dict[str, bytes | None]:
    """Every file (bytes) and directory (None) below ``roots``, by path."""
    found: dict[str, bytes | None] = {}
    for root in roots:
        for path in sorted(root.rglob("*")):
            found[str(path)] = None if path.is_dir() else path.read_bytes()
    return found

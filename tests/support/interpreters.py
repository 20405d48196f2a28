"""Older CPython interpreters from pyenv, for running the hook the way users' ``python3`` would.

This kind of machine has pyenv's interpreters under ``pyenv root`` (``/root/.pyenv``).
Outside CI a missing interpreter skips the test that needs it; in CI (``CI`` set) it
fails, so a machine without them cannot pass the hooks' compatibility tests silently.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

__all__ = ["HOOK_PYTHONS", "pyenv_python"]

HOOK_PYTHONS = ("3.9", "3.10", "3.11", "3.12", "3.13")  # 3.9: macOS, 3.10: Ubuntu 22.04


def _pyenv_root() -> Path:
    if os.environ.get("PYENV_ROOT"):
        return Path(os.environ["PYENV_ROOT"])
    pyenv = shutil.which("pyenv")
    if pyenv is not None:
        out = subprocess.run([pyenv, "root"], capture_output=True, text=True, check=False)
        if out.returncode == 0 and out.stdout.strip():
            return Path(out.stdout.strip())
    return Path.home() / ".pyenv"


def pyenv_python(minor: str) -> Path:
    """The newest pyenv ``python3`` of ``minor`` (e.g. ``"3.9"``); fails in CI when absent."""
    versions = _pyenv_root() / "versions"
    found = sorted(
        (p for p in versions.glob(f"{minor}.*/bin/python3") if p.is_file()),
        key=lambda p: tuple(int(x) for x in p.parts[-3].split(".") if x.isdigit()),
    )
    if found:
        return found[-1]
    message = (f"no Python {minor} under {versions}: install it with `pyenv install {minor}` "
               "(the hooks' compatibility tests run the hook under it)")
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)

"""The plugin launcher, scripts/harness_env.py, loaded as a module (it is no package)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from .claude_cli import ROOT

__all__ = ["LAUNCHER", "launcher_module"]

LAUNCHER = ROOT / "scripts" / "harness_env.py"


def launcher_module(path: Path = LAUNCHER) -> ModuleType:
    spec = importlib.util.spec_from_file_location("harness_env", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

"""Which Python environment a role's tests run in: the harness's own (it carries pytest,
pytest-testinfra, molecule, ansible-core), or the one ``tests.environment`` in harness.yml
declares (its interpreter is ``{python}``, its ``bin/`` first on PATH); never guessed."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from dag_harness_mcp.errors import ConfigError

__all__ = ["TOOLS", "Toolchain", "role_toolchain"]

# The distributions a role's tests use, and the executables they provide.
TOOLS = {"pytest": "pytest", "pytest-testinfra": None, "molecule": "molecule",
         "ansible-core": "ansible-playbook"}


@dataclass(frozen=True)
class Toolchain:
    """The environment a role's test commands run in."""

    source: Literal["harness", "repository"]
    prefix: Path
    python: Path
    declared_by: str
    extra_path: list[str] = field(default_factory=list)

    @property
    def bin_dirs(self) -> list[str]:
        return [str(self.python.parent), *self.extra_path]

    def versions(self) -> dict[str, str | None]:
        """The installed version of each of :data:`TOOLS` in this environment (None: missing)."""
        script = ("import importlib.metadata as m, json, sys\nout = {}\n"
                  "for name in sys.argv[1:]:\n    try: out[name] = m.version(name)\n"
                  "    except m.PackageNotFoundError: out[name] = None\nprint(json.dumps(out))\n")
        try:
            proc = subprocess.run([str(self.python), "-c", script, *TOOLS], capture_output=True,
                                  text=True, timeout=60, check=True)
            found: dict[str, str | None] = json.loads(proc.stdout)
        except (OSError, ValueError, subprocess.SubprocessError):
            return dict.fromkeys(TOOLS)
        return found

    def describe(self) -> str:
        where = "the harness's own environment" if self.source == "harness" \
            else "the repository's environment"
        return f"{where} {self.prefix} ({self.declared_by})"


def role_toolchain(repo_root: Path, environment: str | None) -> Toolchain:
    """The toolchain for ``tests.environment`` (None: the harness's own environment)."""
    harness_bin = str(Path(sys.executable).parent)
    if not environment:
        return Toolchain("harness", Path(sys.prefix), Path(sys.executable),
                         "default; `tests.environment` in harness.yml selects another")
    prefix = repo_root / Path(environment).expanduser()  # an absolute path stays as it is
    python = prefix / "bin" / "python"
    if not python.exists():
        raise ConfigError("tests.environment", environment,
                          f"a virtual environment with bin/python ({python} does not exist): "
                          "create it (e.g. `uv venv` + install pytest and molecule there) or "
                          "remove the key to use the harness's own toolchain")
    return Toolchain("repository", prefix, python, "tests.environment in harness.yml",
                     [harness_bin])

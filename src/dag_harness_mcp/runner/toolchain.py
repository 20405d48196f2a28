"""Which Python environment a role's tests run in (molecule, ansible-playbook, pytest).

By default the harness's own environment: the plugin's (or ``uv tool``'s, or a
checkout's) virtual environment, which carries pytest, pytest-testinfra, molecule
and ansible-core as runtime dependencies. A repository that keeps its own
environment declares it in ``harness.yml``::

    tests:
      environment: .venv        # a virtual environment, relative to the repository root

Then ``{python}`` in the test commands is that environment's interpreter and its
``bin/`` comes first on the commands' PATH (the harness's ``bin/`` after it, for
what the repository's environment lacks). Nothing is guessed from a ``.venv``
that happens to be there: a repository environment is used only when declared.
"""

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
        """Directories to put first on the test commands' PATH, in order."""
        return [str(self.python.parent), *self.extra_path]

    def versions(self) -> dict[str, str | None]:
        """The installed version of each of :data:`TOOLS` in this environment (None: missing)."""
        script = ("import importlib.metadata as m, json, sys\n"
                  "out = {}\n"
                  "for name in sys.argv[1:]:\n"
                  "    try: out[name] = m.version(name)\n"
                  "    except m.PackageNotFoundError: out[name] = None\n"
                  "print(json.dumps(out))\n")
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
    prefix = Path(environment).expanduser()
    prefix = prefix if prefix.is_absolute() else repo_root / prefix
    python = prefix / "bin" / "python"
    if not python.exists():
        raise ConfigError("tests.environment", environment,
                          f"a virtual environment with bin/python ({python} does not exist): "
                          "create it (e.g. `uv venv` + install pytest and molecule there) or "
                          "remove the key to use the harness's own toolchain")
    return Toolchain("repository", prefix, python, "tests.environment in harness.yml",
                     [harness_bin])

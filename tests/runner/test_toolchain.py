"""The role test toolchain: the harness's own environment, or the repository's when declared."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dag_harness_mcp.errors import ConfigError
from dag_harness_mcp.graph.nodes import testing
from dag_harness_mcp.runner.process import role_toolchain, tool_env


def _run_in(chain_python: Path | None, bin_dirs: list[str], cwd: Path) -> list[str]:
    argv = testing.test_command(["{python}", "-c", "import sys, shutil; print(sys.prefix); "
                         "print(shutil.which('python'))"],
                        role="r", role_dir=cwd, worktree=cwd, python=chain_python)
    out = subprocess.run(argv, cwd=cwd, env=tool_env(None, bin_dirs), capture_output=True,
                         text=True, check=True).stdout
    return out.split()


def test_by_default_role_tests_run_in_the_harness_environment_which_has_pytest_and_molecule(
        tmp_path: Path) -> None:
    chain = role_toolchain(tmp_path, None)
    assert (chain.source, chain.python) == ("harness", Path(sys.executable))
    versions = chain.versions()
    assert all(versions.values()), versions  # pytest, testinfra, molecule, ansible-core
    prefix, python = _run_in(chain.python, chain.bin_dirs, tmp_path)
    assert prefix == sys.prefix and Path(python).parent == Path(sys.executable).parent


def test_a_declared_repository_environment_runs_the_tests_with_its_python_first_on_path(
        tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "env")],
                   check=True)
    chain = role_toolchain(tmp_path, "env")
    assert chain.source == "repository" and chain.prefix == tmp_path / "env"
    assert chain.bin_dirs == [str(tmp_path / "env" / "bin"), str(Path(sys.executable).parent)]
    assert chain.versions() == dict.fromkeys(["pytest", "pytest-testinfra", "molecule",
                                              "ansible-core"])
    prefix, python = _run_in(chain.python, chain.bin_dirs, tmp_path)
    assert prefix == str(tmp_path / "env")
    assert python == str(tmp_path / "env" / "bin" / "python")


def test_a_declared_environment_that_is_missing_is_a_config_error_naming_the_key(
        tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        role_toolchain(tmp_path, "nowhere")
    assert "tests.environment" in str(caught.value) and "remove the key" in str(caught.value)

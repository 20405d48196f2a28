"""The bundled example repository: a real git checkout, eleven roles in five waves, real tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dag_harness_mcp.config import Settings
from dag_harness_mcp.errors import HarnessError
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.example import (
    ExampleCheckout,
    example_source,
    prepare_example_checkout,
)
from dag_harness_mcp.service.roles import plan_waves, sync_roles

WAVES = [
    ["common", "packages"],
    ["database", "firewall", "monitoring/node_exporter", "users"],
    ["app_config", "nginx", "ssh_hardening"],
    ["app"],
    ["backup"],
]
PYTEST_ONLY = {"packages", "app_config", "backup"}
MOLECULE_ONLY = {"ssh_hardening"}


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_checkout_is_a_clean_git_repository_pushed_to_a_bare_origin(
    example_checkout: ExampleCheckout,
) -> None:
    repo = example_checkout.repo_root
    assert _git(repo, "status", "--porcelain") == ""
    assert _git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert _git(example_checkout.origin, "rev-parse", "--is-bare-repository") == "true"
    assert _git(repo, "rev-parse", "HEAD") == _git(example_checkout.origin, "rev-parse", "main")
    assert (repo / "harness.yml").is_file()


def test_a_second_checkout_into_the_same_directory_is_refused(
    example_checkout: ExampleCheckout,
) -> None:
    before = _git(example_checkout.repo_root, "rev-parse", "HEAD")
    with pytest.raises(HarnessError, match="already holds an example checkout"):
        prepare_example_checkout(example_checkout.repo_root.parent)
    assert _git(example_checkout.repo_root, "rev-parse", "HEAD") == before


def test_sync_finds_eleven_roles_in_five_waves(example_settings: Settings) -> None:
    with HarnessApp.open(example_settings) as app:
        report = sync_roles(app)
        waves = plan_waves(app)
    assert (report.total, report.errors, report.cycles, report.blocked) == (11, [], [], [])
    got = [sorted(wave.roles) for wave in waves]
    assert got == WAVES


def test_test_kinds_cover_both_only_pytest_and_only_molecule() -> None:
    roles_dir = example_source() / "ansible" / "roles"
    for role in (r for wave in WAVES for r in wave):
        has_pytest = any((roles_dir / role / "tests").glob("test_*.py"))
        has_molecule = (roles_dir / role / "molecule" / "default" / "molecule.yml").is_file()
        assert has_pytest == (role not in MOLECULE_ONLY), role
        assert has_molecule == (role not in PYTEST_ONLY), role


@pytest.mark.parametrize("role", sorted({r for w in WAVES for r in w} - MOLECULE_ONLY))
def test_every_role_pytest_suite_passes_as_shipped(role: str) -> None:
    role_dir = example_source() / "ansible" / "roles" / role
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=role_dir, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert done.returncode == 0, done.stdout[-2000:]
    assert " passed" in done.stdout and "failed" not in done.stdout

"""The roles commands end to end: real YAML, a real StateDB file, parsed --json output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dag_harness_mcp.cli.app import app
from support.rolerepo import RoleTree

runner = CliRunner()


@pytest.fixture
def repo(tmp_path: Path) -> tuple[RoleTree, list[str]]:
    tree = RoleTree(tmp_path / "repo")
    tree.role("common", molecule=True)
    tree.role("web", deps=["common", "geerlingguy.nginx"])
    tree.role("kubernetes/control-plane", deps=[{"role": "common"}])
    tree.role("app", deps=["web"], tasks=[{"include_role": {"name": "kubernetes/control-plane"}}])
    base = ["--repo", str(tree.root), "--db", str(tmp_path / "state" / "h.db")]
    return tree, base


def _json(args: list[str]) -> Any:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_sync_json_reports_counts_then_is_idempotent(repo: tuple[RoleTree, list[str]]) -> None:
    _, base = repo
    first = _json([*base, "sync", "--json"])
    assert (first["added"], first["total"], first["external"], first["errors"]) == (4, 4, 1, [])
    second = _json([*base, "sync", "--json"])
    assert (second["added"], second["unchanged"]) == (0, 4)


def test_waves_json_is_exactly_the_documented_shape(repo: tuple[RoleTree, list[str]]) -> None:
    _, base = repo
    _json([*base, "sync", "--json"])
    assert _json([*base, "waves", "--json"]) == [
        {"wave": 0, "roles": ["common"]},
        {"wave": 1, "roles": ["kubernetes/control-plane", "web"]},
        {"wave": 2, "roles": ["app"]},
    ]


def test_deps_transitive_json_in_both_directions(repo: tuple[RoleTree, list[str]]) -> None:
    _, base = repo
    _json([*base, "sync", "--json"])
    assert _json([*base, "deps", "app", "--transitive", "--json"]) == [
        {"role": "kubernetes/control-plane", "depth": 1},
        {"role": "web", "depth": 1},
        {"role": "common", "depth": 2},
    ]
    assert _json([*base, "deps", "common", "--transitive", "--reverse", "--json"]) == [
        {"role": "kubernetes/control-plane", "depth": 1},
        {"role": "web", "depth": 1},
        {"role": "app", "depth": 2},
    ]
    direct = _json([*base, "deps", "web", "--json"])
    assert [(d["role"], d["kind"]) for d in direct] == [
        ("geerlingguy.nginx", "external"),
        ("common", "role"),
    ]


def test_list_roles_status_and_graph(repo: tuple[RoleTree, list[str]]) -> None:
    _, base = repo
    _json([*base, "sync", "--json"])
    wave1 = _json([*base, "list-roles", "--wave", "1", "--json"])
    assert [r["name"] for r in wave1] == ["kubernetes/control-plane", "web"]
    status = _json([*base, "status", "--json"])
    assert [s["role"] for s in status] == ["common", "kubernetes/control-plane", "web", "app"]
    one = _json([*base, "status", "common", "--json"])
    assert (one["name"], one["has_molecule"], one["dependants"]) == (
        "common",
        True,
        ["kubernetes/control-plane", "web"],
    )
    mermaid = runner.invoke(app, [*base, "graph"])
    assert mermaid.exit_code == 0 and mermaid.stdout.startswith("flowchart TD")
    dot = _json([*base, "graph", "--format", "dot", "--json"])
    assert dot["format"] == "dot" and '"common" -> "web";' in dot["graph"]


def test_tables_render_for_people(repo: tuple[RoleTree, list[str]]) -> None:
    _, base = repo
    runner.invoke(app, [*base, "sync"])
    for args in (
        ["list-roles"],
        ["waves"],
        ["deps", "app"],
        ["status"],
        ["status", "app"],
        ["deps", "app", "--transitive"],
    ):
        result = runner.invoke(app, [*base, *args])
        assert result.exit_code == 0, result.stderr
        assert "common" in result.stdout or "web" in result.stdout


@pytest.mark.parametrize("bad", ["../etc", "/etc/passwd", "a\\b"])
def test_unsafe_role_names_exit_2_with_the_reason_on_stderr(
    repo: tuple[RoleTree, list[str]], bad: str
) -> None:
    _, base = repo
    _json([*base, "sync", "--json"])
    for command in (["deps", bad, "--json"], ["status", bad, "--json"]):
        result = runner.invoke(app, [*base, *command])
        assert result.exit_code == 2
        assert result.stdout == ""
        assert "role name" in result.stderr


def test_unknown_role_names_the_fix(repo: tuple[RoleTree, list[str]]) -> None:
    _, base = repo
    _json([*base, "sync", "--json"])
    result = runner.invoke(app, [*base, "deps", "ghost", "--json"])
    assert result.exit_code == 2 and "harness sync" in result.stderr


def test_parse_errors_and_cycles_are_warnings_on_stderr(repo: tuple[RoleTree, list[str]]) -> None:
    tree, base = repo
    tree.role("broken", tasks_text="- [unclosed\n")
    tree.role("x", deps=["y"])
    tree.role("y", deps=["x"])
    result = runner.invoke(app, [*base, "sync", "--json"])
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["cycles"] == [["x", "y", "x"]]
    assert "broken" in result.stderr and "x -> y -> x" in result.stderr


def test_a_bad_pin_fails_sync_with_a_message_naming_both_roles(
    repo: tuple[RoleTree, list[str]],
) -> None:
    tree, base = repo
    (tree.root / "harness.yml").write_text("waves:\n  - {wave: 0, roles: [web]}\n")
    result = runner.invoke(app, [*base, "sync", "--json"])
    assert result.exit_code == 2 and result.stdout == ""
    assert "'web'" in result.stderr and "'common'" in result.stderr


def test_roles_path_flag_is_honoured(tmp_path: Path) -> None:
    tree = RoleTree(tmp_path / "repo", "roles")
    tree.role("only")
    base = ["--repo", str(tree.root), "--db", str(tmp_path / "h.db"), "--roles-path", "roles"]
    assert _json([*base, "sync", "--json"])["total"] == 1


def test_the_installed_console_script_keeps_stdout_for_json(
    repo: tuple[RoleTree, list[str]],
) -> None:
    tree, base = repo
    tree.role("broken", tasks_text="- [unclosed\n")
    harness = Path(sys.executable).with_name("harness")
    done = subprocess.run(
        [str(harness), *base, "sync", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["total"] == 5
    assert "broken" in done.stderr
    waves = subprocess.run(
        [str(harness), *base, "waves", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(waves.stdout)[0] == {"wave": 0, "roles": ["broken", "common"]}


def test_the_deps_table_shows_brackets_in_references_as_written(tmp_path: Path) -> None:
    tree = RoleTree(tmp_path / "repo")
    tree.role("app", deps=["acme.tools[red]"], tasks=[
        {"include_role": {"name": "{{ platform_roles[bold] }}"}}])
    base = ["--repo", str(tree.root), "--db", str(tmp_path / "h.db")]
    _json([*base, "sync", "--json"])
    table = runner.invoke(app, [*base, "deps", "app"], terminal_width=200)
    assert table.exit_code == 0, table.output
    assert "acme.tools[red]" in table.stdout
    assert "{{ platform_roles[bold] }}" in table.stdout


def test_the_mermaid_graph_draws_edges_between_role_names(
    repo: tuple[RoleTree, list[str]],
) -> None:
    _, base = repo
    _json([*base, "sync", "--json"])
    lines = runner.invoke(app, [*base, "graph"]).stdout.splitlines()
    assert 'kubernetes_control_plane["kubernetes/control-plane"]' in lines
    assert "common --> kubernetes_control_plane & web" in lines
    assert "web --> app" in lines

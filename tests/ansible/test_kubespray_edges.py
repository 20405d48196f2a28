"""A kubespray-shaped tree: edges through other roles' task and vars files, nested and
relative names, templated names, checked edge for edge against the fixture's hand count."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dag_harness_mcp.ansible.references import references_in_tasks, resolve_file_reference
from dag_harness_mcp.cli.app import app as cli
from support.kubespray import (
    DOWNLOAD_DEPENDANTS,
    EXPECTED_EDGES,
    TEMPLATED_EDGES,
    build_kubespray_tree,
)

runner = CliRunner()


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    base = tmp_path_factory.mktemp("kubespray")
    root = build_kubespray_tree(base / "repo")
    args = ["--repo", str(root), "--roles-path", "roles", "--db", str(base / "h.db")]
    synced = _json([*args, "sync", "--json"])
    assert synced["errors"] == [] and synced["cycles"] == []
    return args


def _json(args: list[str]) -> Any:
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _all_edges(args: list[str]) -> set[tuple[str, str]]:
    names = [r["name"] for r in _json([*args, "list-roles", "--json"])]
    return {
        (name, dep["role"])
        for name in names
        for dep in _json([*args, "deps", name, "--json"])
        if dep["kind"] in ("role", "templated")
    }


def test_every_edge_matches_the_hand_count_of_the_tree(harness: list[str]) -> None:
    assert _all_edges(harness) == EXPECTED_EDGES


def test_download_has_as_dependants_the_fifteen_roles_that_run_its_task_files(
    harness: list[str],
) -> None:
    rows = _json([*harness, "deps", "download", "--reverse", "--json"])
    assert sorted({r["role"] for r in rows}) == list(DOWNLOAD_DEPENDANTS)
    assert len(DOWNLOAD_DEPENDANTS) == 15
    assert {r["source"] for r in rows} == {"include_tasks", "import_tasks"}
    helm = [r for r in rows if r["role"] == "kubernetes-apps/helm"]
    assert helm == [{"role": "kubernetes-apps/helm",
                     "reference": "../../../download/tasks/download_file.yml",
                     "kind": "role", "source": "include_tasks", "source_file": "tasks/main.yml"}]


def test_waves_never_put_download_beside_a_role_that_runs_its_files(harness: list[str]) -> None:
    wave_of = {role: w["wave"] for w in _json([*harness, "waves", "--json"]) for role in w["roles"]}
    assert wave_of["download"] == 0
    assert all(wave_of[role] > wave_of[dep] for role, dep in EXPECTED_EDGES)


def test_a_templated_role_name_depends_on_every_role_it_can_match_flagged_templated(
    harness: list[str],
) -> None:
    rows = _json([*harness, "deps", "network_plugin", "--json"])
    templated = {r["role"] for r in rows if r["kind"] == "templated"}
    assert templated == {dep for role, dep in TEMPLATED_EDGES if role == "network_plugin"}
    assert {r["reference"] for r in rows if r["kind"] == "templated"} == {
        "network_plugin/{{ kube_network_plugin }}"
    }
    # A name that is nothing but a template could be any role: recorded, no edge.
    assert [r for r in rows if r["kind"] == "dynamic"] == [{
        "role": "{{ custom_network_role }}", "reference": "{{ custom_network_role }}",
        "kind": "dynamic", "source": "include_role", "source_file": "tasks/main.yml",
    }]


def test_the_deps_table_shows_the_templated_kind_and_the_include_source(
    harness: list[str],
) -> None:
    table = runner.invoke(cli, [*harness, "deps", "container-engine"])
    assert table.exit_code == 0, table.output
    rows = [line for line in table.stdout.splitlines() if "container-engine/" in line]
    assert len(rows) == 3 and all("templated" in line and "meta" in line for line in rows)
    reverse = runner.invoke(cli, [*harness, "deps", "kubespray-defaults", "--reverse"])
    assert "include_vars" in reverse.stdout and "kubernetes/preinstall" in reverse.stdout


def test_sync_counts_the_templated_references(tmp_path: Path) -> None:
    root = build_kubespray_tree(tmp_path / "repo")
    report = _json(["--repo", str(root), "--roles-path", "roles", "--db",
                    str(tmp_path / "h.db"), "sync", "--json"])
    assert (report["templated"], report["dynamic"]) == (2, 1)
    assert report["total"] == 24


@pytest.mark.parametrize(("task", "expected"), [
    ({"vars_files": ["../../other/vars/main.yml", "own.yml"]},
     [("../../other/vars/main.yml", "vars_files"), ("own.yml", "vars_files")]),
    ({"ansible.legacy.include_vars": "file=../../other/vars/x.yml name=v"},
     [("../../other/vars/x.yml", "include_vars")]),
    ({"include_vars": {"dir": "../../other/vars"}}, [("../../other/vars", "include_vars")]),
    ({"action": {"module": "ansible.builtin.import_tasks", "file": "a.yml"}},
     [("a.yml", "import_tasks")]),
])
def test_file_references_are_read_in_every_spelling(
    task: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    refs, errors = references_in_tasks([task], "tasks/main.yml")
    assert [(r.reference, r.source) for r in refs] == expected and errors == []


@pytest.mark.parametrize(("reference", "owner"), [
    ("../../other/tasks/x.yml", "other"),  # from tasks/: two levels up is the roles path
    ("x.yml", None),  # the role's own file
    ("{{ role_path }}/tasks/x.yml", None),
    ("{{ role_path }}/../other/x.yml", "other"),
    ("../../nested/inner/tasks/x.yml", "nested/inner"),  # the innermost role wins
    ("../../nested/tasks/x.yml", "nested"),
    ("../../../outside.yml", "external"),
    ("/etc/ansible/x.yml", "external"),
    ("{{ item }}.yml", None),
])
def test_a_file_path_resolves_to_the_role_that_owns_it(reference: str, owner: str | None) -> None:
    known = {"me", "other", "nested", "nested/inner"}
    found = resolve_file_reference(reference, "include_tasks", "tasks/main.yml", "me", known)
    if owner is None:
        assert found is None
    elif owner == "external":
        assert found is not None and (found.kind, found.targets) == ("external", ())
    else:
        assert found is not None and (found.kind, found.targets) == ("role", (owner,))

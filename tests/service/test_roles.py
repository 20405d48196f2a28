"""The roles service against real YAML trees and a real SQLite file."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pydantic_core import to_jsonable_python as dumps

from dag_harness_mcp.config import Settings
from dag_harness_mcp.errors import (
    ConfigError,
    InvalidArgumentError,
    InvalidNameError,
    NotFoundError,
    WavePinError,
)
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.roles import (
    dependency_graph,
    get_role,
    list_roles,
    plan_waves,
    role_dependencies,
    roles_status,
    sync_roles,
)
from support.rolerepo import RoleTree

MakeSettings = Callable[..., Settings]


@pytest.fixture
def tree(tmp_path: Path) -> RoleTree:
    t = RoleTree(tmp_path / "repo")
    t.role("common", molecule=True, pytest=True, description="Base")
    t.role("web", deps=["common", {"role": "geerlingguy.nginx"}])
    t.role("db", deps=[{"name": "common", "when": "true"}])
    t.role(
        "app",
        deps=["web"],
        tasks=[
            {"block": [{"include_role": {"name": "db"}}]},
            {"include_role": {"name": "{{ extra_role }}"}},
        ],
    )
    return t


@pytest.fixture
def app(tree: RoleTree, settings_for: MakeSettings) -> Iterator[HarnessApp]:
    harness = HarnessApp.open(settings_for(tree.root))
    yield harness
    harness.close()


def _reopen(app: HarnessApp) -> HarnessApp:
    return HarnessApp.open(app.settings)


def test_sync_records_roles_waves_edges_and_test_layout(app: HarnessApp) -> None:
    report = sync_roles(app)
    assert (report.added, report.updated, report.removed, report.unchanged, report.total) == (
        4,
        0,
        0,
        0,
        4,
    )
    assert (report.external, report.dynamic, report.errors, report.cycles) == (1, 1, [], [])
    assert dumps(plan_waves(app)) == [
        {"wave": 0, "roles": ["common"], "parallel": True},
        {"wave": 1, "roles": ["db", "web"], "parallel": True},
        {"wave": 2, "roles": ["app"], "parallel": True},
    ]
    common = get_role(app, "common")
    assert (common.has_molecule, common.has_pytest, common.description) == (
        True,
        True,
        "Base",
    )
    assert common.path == "ansible/roles/common"
    assert common.dependants == ["db", "web"]
    assert get_role(app, "web").has_molecule is False


def test_sync_is_idempotent(app: HarnessApp) -> None:
    sync_roles(app)
    before = list_roles(app)
    edges = role_dependencies(app, "app")
    again = sync_roles(app)
    assert (again.added, again.updated, again.removed, again.unchanged) == (0, 0, 0, 4)
    assert [r.model_copy(update={"updated_at": None}) for r in list_roles(app)] == [
        r.model_copy(update={"updated_at": None}) for r in before
    ]
    assert role_dependencies(app, "app") == edges


def test_changed_and_removed_roles_are_counted_and_removed_roles_disappear(
    app: HarnessApp, tree: RoleTree
) -> None:
    sync_roles(app)
    tree.remove("db")
    tree.role("app", deps=["web"])
    report = sync_roles(app)
    assert (report.removed, report.updated, report.unchanged) == (1, 1, 2)
    assert [r.name for r in list_roles(app)] == ["common", "web", "app"]
    assert [d.role for d in role_dependencies(app, "app")] == ["web"]
    assert get_role(app, "common").dependants == ["web"]
    with pytest.raises(NotFoundError, match="harness sync"):
        get_role(app, "db")
    tree.role("db")
    back = sync_roles(app)
    assert (back.updated, back.added) == (1, 0)  # the same row comes back active


def test_a_role_whose_yaml_does_not_parse_is_recorded_and_the_others_go_on(
    app: HarnessApp, tree: RoleTree
) -> None:
    tree.role("broken", meta_text="dependencies: [common\n")
    report = sync_roles(app)
    assert report.total == 5
    assert [e["role"] for e in report.errors] == ["broken"]
    assert "meta/main.yml: YAML does not parse" in report.errors[0]["error"]
    assert get_role(app, "broken").parse_error.startswith("meta/main.yml")
    assert get_role(app, "app").parse_error is None


def test_a_failed_sync_leaves_the_previous_state_intact(app: HarnessApp, tree: RoleTree) -> None:
    sync_roles(app)
    snapshot = list_roles(app)
    audits = len(app.db.audit.list(action="sync_roles"))
    # A real failure in the middle of the write: the database refuses one row.
    app.db.execute(
        "CREATE TRIGGER refuse_poison BEFORE INSERT ON roles WHEN NEW.name = 'poison'"
        " BEGIN SELECT RAISE(ABORT, 'poison refused'); END"
    )
    tree.remove("db")
    tree.role("poison")
    with pytest.raises(sqlite3.IntegrityError, match="poison refused"):
        sync_roles(app)
    assert list_roles(app) == snapshot
    assert [d.role for d in role_dependencies(app, "app", transitive=True)] == [
        "db",
        "web",
        "common",
    ]
    assert len(app.db.audit.list(action="sync_roles")) == audits


def test_a_missing_roles_path_is_an_error_not_a_mass_removal(
    app: HarnessApp, settings_for: MakeSettings, tree: RoleTree
) -> None:
    sync_roles(app)
    wrong = HarnessApp.open(settings_for(tree.root, roles_path="roles/typo"))
    with wrong, pytest.raises(NotFoundError, match="roles path 'roles/typo' does not exist"):
        sync_roles(wrong)
    assert len(list_roles(app)) == 4


def test_a_roles_path_that_is_a_symlink_out_of_the_repository_is_refused(
    settings_for: MakeSettings, tmp_path: Path
) -> None:
    outside = RoleTree(tmp_path / "elsewhere")
    outside.role("stray")
    repo = tmp_path / "linked"
    (repo / "ansible").mkdir(parents=True)
    (repo / "ansible" / "roles").symlink_to(outside.root / "ansible" / "roles")
    with HarnessApp.open(settings_for(repo)) as linked:
        with pytest.raises(ConfigError, match=r"ansible/roles is a symlink to .*outside the "
                                              r"repository.*--roles-path"):
            sync_roles(linked)
        assert list_roles(linked) == []


def test_a_roles_path_linked_within_the_repository_syncs(
    settings_for: MakeSettings, tmp_path: Path
) -> None:
    inner = RoleTree(tmp_path / "repo2")
    inner.role("kept")
    (inner.root / "roles").symlink_to(inner.root / "ansible" / "roles")
    with HarnessApp.open(settings_for(inner.root, roles_path="roles")) as linked:
        assert sync_roles(linked).total == 1


def test_cycles_are_reported_and_their_roles_get_no_wave(app: HarnessApp, tree: RoleTree) -> None:
    tree.role("x", deps=["y"])
    tree.role("y", tasks=[{"import_role": {"name": "x"}}])
    tree.role("z", deps=["x"])
    report = sync_roles(app)
    assert report.cycles == [["x", "y", "x"]]
    assert report.blocked == ["x", "y", "z"]
    assert get_role(app, "z").wave is None
    assert all("x" not in w.roles for w in plan_waves(app))
    # The walk still ends on the cycle.
    assert dumps(role_dependencies(app, "z", transitive=True)) == [
        {"role": "x", "depth": 1},
        {"role": "y", "depth": 2},
    ]


def test_a_role_including_its_own_tasks_is_not_a_cycle(app: HarnessApp, tree: RoleTree) -> None:
    tree.role("self", tasks=[{"include_role": {"name": "self", "tasks_from": "other.yml"}}])
    report = sync_roles(app)
    assert report.cycles == []
    assert get_role(app, "self").wave == 0


def test_pins_from_harness_yml_move_roles_and_mark_serial_waves(
    tree: RoleTree, settings_for: MakeSettings
) -> None:
    (tree.root / "harness.yml").write_text(
        "waves:\n  - {wave: 0, roles: [common], parallel: false}\n  - {wave: 2, roles: [db]}\n"
    )
    with HarnessApp.open(settings_for(tree.root)) as app:
        sync_roles(app)
        assert dumps(plan_waves(app)) == [
            {"wave": 0, "roles": ["common"], "parallel": False},
            {"wave": 1, "roles": ["web"], "parallel": True},
            {"wave": 2, "roles": ["db"], "parallel": True},
            {"wave": 3, "roles": ["app"], "parallel": True},
        ]
        assert get_role(app, "db").wave_pinned is True


def test_a_pin_contradicting_a_dependency_fails_the_sync_before_writing(
    tree: RoleTree, settings_for: MakeSettings
) -> None:
    with HarnessApp.open(settings_for(tree.root)) as app:
        sync_roles(app)
    (tree.root / "harness.yml").write_text("waves:\n  - {wave: 1, roles: [app]}\n")
    with HarnessApp.open(settings_for(tree.root)) as app:
        with pytest.raises(WavePinError, match="'app' is pinned to wave 1 but depends on 'db'"):
            sync_roles(app)
        assert get_role(app, "app").wave == 2


def test_invalid_and_unknown_pins(tree: RoleTree, settings_for: MakeSettings) -> None:
    (tree.root / "harness.yml").write_text("waves:\n  - {wave: 3, roles: [ghost]}\n")
    with HarnessApp.open(settings_for(tree.root)) as app:
        report = sync_roles(app)
        assert report.errors == [
            {
                "role": "ghost",
                "error": "pinned in harness.yml `waves` but not found; "
                "fix the name or remove the pin",
            }
        ]
    (tree.root / "harness.yml").write_text("waves:\n  - {wave: 3, roles: ['../etc']}\n")
    with HarnessApp.open(settings_for(tree.root)) as app, pytest.raises(ConfigError) as info:
        sync_roles(app)
    assert info.value.key == "waves" and info.value.value == "../etc"


def test_sync_is_audited(app: HarnessApp) -> None:
    sync_roles(app)
    (entry,) = app.db.audit.list(action="sync_roles")
    details = json.loads(entry["details"])
    assert (entry["actor"], entry["entity_id"], details["added"]) == ("cli", "ansible/roles", 4)


def test_direct_dependencies_include_external_and_dynamic_references(app: HarnessApp) -> None:
    sync_roles(app)
    assert dumps(role_dependencies(app, "web")) == [
        {
            "role": "geerlingguy.nginx",
            "reference": "geerlingguy.nginx",
            "kind": "external",
            "source": "meta",
            "source_file": "meta/main.yml",
        },
        {
            "role": "common",
            "reference": "common",
            "kind": "role",
            "source": "meta",
            "source_file": "meta/main.yml",
        },
    ]
    kinds = {(d.role, d.kind, d.source) for d in role_dependencies(app, "app")}
    assert kinds == {
        ("{{ extra_role }}", "dynamic", "include_role"),
        ("db", "role", "include_role"),
        ("web", "role", "meta"),
    }
    assert dumps(role_dependencies(app, "common", reverse=True)) == [
        {
            "role": "db",
            "reference": "common",
            "kind": "role",
            "source": "meta",
            "source_file": "meta/main.yml",
        },
        {
            "role": "web",
            "reference": "common",
            "kind": "role",
            "source": "meta",
            "source_file": "meta/main.yml",
        },
    ]


def test_transitive_dependencies_and_dependants_carry_the_shortest_depth(
    app: HarnessApp,
) -> None:
    sync_roles(app)
    assert dumps(role_dependencies(app, "app", transitive=True)) == [
        {"role": "db", "depth": 1},
        {"role": "web", "depth": 1},
        {"role": "common", "depth": 2},
    ]
    assert dumps(role_dependencies(app, "common", transitive=True, reverse=True)) == [
        {"role": "db", "depth": 1},
        {"role": "web", "depth": 1},
        {"role": "app", "depth": 2},
    ]


@pytest.mark.parametrize("bad", ["../etc", "/etc/passwd", "a//b", "a\\b", "x\n", "", "./a"])
def test_every_entry_point_rejects_unsafe_names(app: HarnessApp, bad: str) -> None:
    sync_roles(app)
    for call in (
        lambda: get_role(app, bad),
        lambda: role_dependencies(app, bad),
        lambda: role_dependencies(app, bad, transitive=True, reverse=True),
    ):
        with pytest.raises(InvalidNameError):
            call()


def test_list_roles_filters_by_wave_and_pages(app: HarnessApp) -> None:
    sync_roles(app)
    assert [r.name for r in list_roles(app)] == ["common", "db", "web", "app"]
    assert [r.name for r in list_roles(app, wave=1)] == ["db", "web"]
    assert [r.name for r in list_roles(app, limit=2, offset=1)] == ["db", "web"]
    with pytest.raises(InvalidArgumentError):
        list_roles(app, offset=-1)


def test_get_role_and_status_show_worktree_issue_mr_and_test_runs(app: HarnessApp) -> None:
    sync_roles(app)
    role_id = get_role(app, "web")
    now = "2026-11-28T00:00:00.000Z"
    rid = app.db.roles.require("web")["id"]
    app.db.execute(
        "INSERT INTO worktrees (role_id, path, branch, created_at, updated_at)"
        " VALUES (?, '/wt/web', 'box-up/web', ?, ?)",
        (rid, now, now),
    )
    app.db.execute(
        "INSERT INTO merge_requests (role_name, forge, project, iid, title, source_branch,"
        " target_branch, web_url, created_at, updated_at) VALUES ('web', 'local', 'p', 1, 't',"
        " 'box-up/web', 'main', 'http://mr/1', ?, ?)",
        (now, now),
    )
    app.db.execute(
        "INSERT INTO test_runs (role_id, role_name, kind, status, passed, started_at)"
        " VALUES (?, 'web', 'pytest', 'passed', 3, ?)",
        (rid, now),
    )
    web = get_role(app, "web")
    assert role_id.worktree is None
    assert dumps(web.worktree) == {"path": "/wt/web", "branch": "box-up/web"}
    assert (web.mr_url, web.mr_state) == ("http://mr/1", "opened")
    assert [(t.kind, t.status, t.passed) for t in web.test_runs] == [("pytest", "passed", 3)]
    status = {s.role: s for s in roles_status(app)}
    assert status["web"].worktree == "/wt/web"
    assert (status["web"].test_runs, status["web"].tests_passed) == (1, 1)
    assert list(status) == ["common", "db", "web", "app"]


def test_dependency_graph_renders_in_both_formats(app: HarnessApp) -> None:
    sync_roles(app)
    mermaid = dependency_graph(app, "mermaid")
    assert mermaid.startswith("flowchart TD\n")
    assert mermaid.count("subgraph wave_") == 3
    dot = dependency_graph(app, "dot")
    assert '"common" -> "web";' in dot and '"db" -> "app";' in dot
    with pytest.raises(InvalidArgumentError):
        dependency_graph(app, "svg")  # type: ignore[arg-type]


def test_reopening_the_database_sees_the_synced_state(app: HarnessApp) -> None:
    sync_roles(app)
    with _reopen(app) as other:
        assert [w.roles for w in plan_waves(other)] == [["common"], ["db", "web"], ["app"]]


def test_kubespray_like_nested_roles_sync_with_path_and_sibling_references(
    tmp_path: Path, settings_for: MakeSettings
) -> None:
    tree = RoleTree(tmp_path / "ks", "roles")
    tree.role("kubernetes/preinstall")
    tree.role("kubernetes/kubeadm_common", deps=[{"role": "kubernetes/preinstall"}])
    tree.role("kubernetes/control-plane", deps=["kubeadm_common"])  # beside itself
    tree.role("network_plugin", deps=[{"role": "network_plugin/calico", "when": "calico"}])
    tree.role(
        "network_plugin/calico",
        tasks=[
            {"block": [{"ansible.builtin.import_role": {"name": "kubespray.core.preinstall"}}]},
        ],
    )
    tree.role("preinstall")
    tree.role("kubernetes-apps/ingress_controller/cert_manager", deps=["kubernetes/control-plane"])
    with HarnessApp.open(settings_for(tree.root, roles_path="roles")) as app:
        report = sync_roles(app)
        assert (report.total, report.errors, report.external) == (7, [], 0)
        assert dumps(plan_waves(app)) == [
            {"wave": 0, "roles": ["kubernetes/preinstall", "preinstall"], "parallel": True},
            {
                "wave": 1,
                "roles": ["kubernetes/kubeadm_common", "network_plugin/calico"],
                "parallel": True,
            },
            {"wave": 2, "roles": ["kubernetes/control-plane", "network_plugin"], "parallel": True},
            {
                "wave": 3,
                "roles": ["kubernetes-apps/ingress_controller/cert_manager"],
                "parallel": True,
            },
        ]
        assert dumps(role_dependencies(
            app, "kubernetes-apps/ingress_controller/cert_manager", transitive=True
        )) == [
            {"role": "kubernetes/control-plane", "depth": 1},
            {"role": "kubernetes/kubeadm_common", "depth": 2},
            {"role": "kubernetes/preinstall", "depth": 3},
        ]
        assert get_role(app, "network_plugin/calico").dependencies[0].role == "preinstall"

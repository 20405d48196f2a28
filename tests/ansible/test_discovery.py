"""Role discovery over real directory trees, including kubespray-style nesting."""

from __future__ import annotations

from pathlib import Path

from dag_harness_mcp.ansible.discovery import discover_roles
from support.rolerepo import RoleTree


def _names(roles_dir: Path) -> list[str]:
    return [r.name for r in discover_roles(roles_dir).roles]


def test_flat_roles_are_found_by_directory_name(tmp_path: Path) -> None:
    tree = RoleTree(tmp_path)
    tree.role("common")
    tree.role("web")
    assert _names(tree.roles_dir) == ["common", "web"]


def test_any_marker_directory_makes_a_role(tmp_path: Path) -> None:
    roles = tmp_path / "ansible" / "roles"
    for name, marker in [
        ("a", "tasks"),
        ("b", "meta"),
        ("c", "defaults"),
        ("d", "handlers"),
        ("e", "vars"),
    ]:
        (roles / name / marker).mkdir(parents=True)
    (roles / "f" / "templates").mkdir(parents=True)  # templates alone do not make a role
    assert _names(roles) == ["a", "b", "c", "d", "e"]


def test_kubespray_layout_finds_nested_roles_up_to_three_levels(tmp_path: Path) -> None:
    tree = RoleTree(tmp_path, "roles")
    tree.role("kubernetes/control-plane")
    tree.role("kubernetes/kubeadm_common")
    tree.role("kubernetes-apps/ingress_controller/cert_manager")
    tree.role("network_plugin")
    tree.role("network_plugin/calico")
    tree.role("network_plugin/cilium")
    assert _names(tree.roles_dir) == [
        "kubernetes-apps/ingress_controller/cert_manager",
        "kubernetes/control-plane",
        "kubernetes/kubeadm_common",
        "network_plugin",
        "network_plugin/calico",
        "network_plugin/cilium",
    ]


def test_role_content_directories_are_never_searched_for_nested_roles(tmp_path: Path) -> None:
    tree = RoleTree(tmp_path)
    path = tree.role("common", molecule=True, pytest=True)
    (path / "files" / "bundle" / "tasks").mkdir(parents=True)
    (path / "templates" / "x" / "meta").mkdir(parents=True)
    (path / "molecule" / "default" / "tasks").mkdir(parents=True)
    assert _names(tree.roles_dir) == ["common"]


def test_hidden_and_symlinked_directories_are_skipped(tmp_path: Path) -> None:
    tree = RoleTree(tmp_path)
    tree.role("common")
    (tree.roles_dir / ".cache" / "tasks").mkdir(parents=True)
    outside = tmp_path / "outside"
    (outside / "tasks").mkdir(parents=True)
    (tree.roles_dir / "linked").symlink_to(outside, target_is_directory=True)
    (tree.roles_dir / "loop").symlink_to(tree.roles_dir, target_is_directory=True)
    assert _names(tree.roles_dir) == ["common"]


def test_directories_with_unsafe_names_are_reported_not_returned(tmp_path: Path) -> None:
    roles = tmp_path / "roles"
    (roles / "good" / "tasks").mkdir(parents=True)
    (roles / "bad name" / "tasks").mkdir(parents=True)
    found = discover_roles(roles)
    assert [r.name for r in found.roles] == ["good"]
    assert [rel for rel, _ in found.skipped] == ["bad name"]
    assert "may hold only" in found.skipped[0][1]


def test_missing_roles_directory_yields_nothing(tmp_path: Path) -> None:
    assert discover_roles(tmp_path / "nope").roles == []


def test_role_paths_point_at_the_role_directory(tmp_path: Path) -> None:
    tree = RoleTree(tmp_path)
    tree.role("a/b")
    (role,) = discover_roles(tree.roles_dir).roles
    assert role.path == tree.roles_dir / "a" / "b"
    assert (role.path / "tasks" / "main.yml").is_file()

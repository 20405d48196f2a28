"""Every way a role references another, parsed from real YAML, and how each resolves."""

from __future__ import annotations

from pathlib import Path

import pytest

from dag_harness_mcp.ansible.references import (
    Reference,
    references_in_meta,
    references_in_tasks,
    resolve_reference,
    scan_role,
)
from dag_harness_mcp.ansible.yamlload import load_yaml
from support.rolerepo import RoleTree


def _refs(scan_refs: list[Reference]) -> set[tuple[str, str, str]]:
    return {(r.reference, r.source, r.source_file) for r in scan_refs}


def test_meta_dependencies_as_strings_and_dicts_with_role_or_name(tmp_path: Path) -> None:
    tree = RoleTree(tmp_path)
    path = tree.role(
        "web",
        deps=[
            "common",
            {"role": "firewall", "when": "ansible_os_family == 'Debian'", "vars": {"port": 80}},
            {"name": "users", "tags": ["users"]},
            {"role": "geerlingguy.nginx"},
        ],
    )
    scan = scan_role(path)
    assert _refs(scan.references) == {
        ("common", "meta", "meta/main.yml"),
        ("firewall", "meta", "meta/main.yml"),
        ("users", "meta", "meta/main.yml"),
        ("geerlingguy.nginx", "meta", "meta/main.yml"),
    }
    assert scan.parse_error is None


def test_include_and_import_role_in_every_spelling(tmp_path: Path) -> None:
    tree = RoleTree(tmp_path)
    path = tree.role(
        "app",
        tasks=[
            {"name": "a", "include_role": {"name": "one"}},
            {"name": "b", "import_role": {"name": "two", "tasks_from": "x.yml"}},
            {"name": "c", "ansible.builtin.include_role": {"name": "three"}},
            {"name": "d", "ansible.builtin.import_role": {"name": "four"}},
            {"name": "e", "ansible.legacy.include_role": {"name": "five"}},
            {"name": "f", "include_role": "name=six tasks_from=main.yml"},
            {"name": "g", "action": {"module": "include_role", "name": "seven"}},
            {"name": "h", "ansible.builtin.include_tasks": "other.yml"},
        ],
    )
    refs = {(r.reference, r.source) for r in scan_role(path).references}
    assert refs == {
        ("one", "include_role"),
        ("two", "import_role"),
        ("three", "include_role"),
        ("four", "import_role"),
        ("five", "include_role"),
        ("six", "include_role"),
        ("seven", "include_role"),
        ("other.yml", "include_tasks"),  # a file reference: an edge only if it leaves the role
    }


def test_references_nested_in_block_rescue_always_are_found(tmp_path: Path) -> None:
    tree = RoleTree(tmp_path)
    path = tree.role(
        "app",
        tasks=[
            {
                "name": "outer",
                "block": [
                    {
                        "name": "inner",
                        "block": [{"include_role": {"name": "deep"}}],
                        "rescue": [{"import_role": {"name": "rescuer"}}],
                    },
                ],
                "always": [{"ansible.builtin.include_role": {"name": "finally"}}],
            },
        ],
    )
    assert {r.reference for r in scan_role(path).references} == {"deep", "rescuer", "finally"}


def test_handlers_and_every_tasks_file_are_read_recursively(tmp_path: Path) -> None:
    tree = RoleTree(tmp_path)
    path = tree.role(
        "app",
        extra_tasks={"sub/install.yaml": [{"include_role": {"name": "from_sub"}}]},
        handlers=[{"name": "h", "import_role": {"name": "from_handler"}}],
    )
    assert _refs(scan_role(path).references) == {
        ("from_sub", "include_role", "tasks/sub/install.yaml"),
        ("from_handler", "import_role", "handlers/main.yml"),
    }


def test_ansible_tags_such_as_vault_do_not_break_parsing(tmp_path: Path) -> None:
    tree = RoleTree(tmp_path)
    path = tree.role(
        "app",
        tasks_text=(
            "- name: secret\n"
            "  ansible.builtin.debug:\n"
            "    msg: !unsafe '{{ not templated }}'\n"
            "  vars:\n"
            "    password: !vault |\n"
            "      $ANSIBLE_VAULT;1.1;AES256\n"
            "      6162636465\n"
            "- include_role:\n"
            "    name: common\n"
        ),
    )
    scan = scan_role(path)
    assert scan.parse_error is None
    assert [r.reference for r in scan.references] == ["common"]


def test_a_file_that_does_not_parse_is_reported_and_the_rest_still_read(tmp_path: Path) -> None:
    tree = RoleTree(tmp_path)
    path = tree.role(
        "app",
        deps=["common"],
        tasks_text="- name: [unclosed\n",
        handlers=[{"include_role": {"name": "from_handler"}}],
    )
    scan = scan_role(path)
    assert scan.parse_error is not None
    assert scan.parse_error.startswith("tasks/main.yml: YAML does not parse")
    assert {r.reference for r in scan.references} == {"common", "from_handler"}


def test_wrong_shapes_are_errors_not_crashes() -> None:
    assert references_in_meta(["not", "a", "mapping"])[1] == [
        "meta/main.yml: expected a mapping, got list"
    ]
    assert references_in_meta({"dependencies": "common"})[1] == [
        "meta/main.yml: 'dependencies' must be a list, got str"
    ]
    assert references_in_meta({"dependencies": [{"when": "x"}]})[1] == [
        "meta/main.yml: dependency #1 names no role"
    ]
    assert references_in_tasks({"name": "x"}, "tasks/main.yml")[1] == [
        "tasks/main.yml: expected a list of tasks, got dict"
    ]
    assert references_in_meta(None) == ([], [])
    assert references_in_tasks(None, "tasks/main.yml") == ([], [])


def test_description_and_test_layout_are_recorded(tmp_path: Path) -> None:
    tree = RoleTree(tmp_path)
    bare = scan_role(tree.role("bare"))
    full = scan_role(tree.role("full", description="Does things", molecule=True, pytest=True))
    assert (bare.has_molecule, bare.has_pytest, bare.description) == (False, False, None)
    assert (full.has_molecule, full.has_pytest, full.description) == (True, True, "Does things")


def test_content_hash_changes_with_the_tasks_and_only_then(tmp_path: Path) -> None:
    tree = RoleTree(tmp_path)
    path = tree.role("app", tasks=[{"debug": {"msg": 1}}])
    first = scan_role(path).content_hash
    assert scan_role(path).content_hash == first
    tree.role("app", tasks=[{"debug": {"msg": 2}}])
    assert scan_role(path).content_hash != first


KNOWN = {"common", "secret", "monitoring/node", "monitoring/exporters", "kubernetes/kubeadm_common"}


@pytest.mark.parametrize(
    ("reference", "referrer", "kind", "target"),
    [
        ("common", None, "role", "common"),
        ("kubernetes/kubeadm_common", None, "role", "kubernetes/kubeadm_common"),
        ("debops.debops.secret", None, "role", "secret"),
        ("debops.debops.missing", None, "external", None),
        ("geerlingguy.nginx", None, "external", None),
        ("node", "monitoring/exporters", "role", "monitoring/node"),
        ("node", "common", "external", None),
        ("{{ item }}", None, "dynamic", None),
        ("role_{{ os }}", None, "dynamic", None),
        ("{% if x %}a{% endif %}", None, "dynamic", None),
    ],
)
def test_references_resolve_to_role_external_or_dynamic(
    reference: str, referrer: str | None, kind: str, target: str | None
) -> None:
    resolved = resolve_reference(reference, KNOWN, referrer=referrer)
    assert (resolved.kind, resolved.target) == (kind, target)
    assert resolved.reference == reference


def test_yaml_loader_is_safe() -> None:
    with pytest.raises(Exception, match="python/object"):
        load_yaml("!!python/object/apply:os.system ['true']")

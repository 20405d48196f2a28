"""Collections around a role tree, as pure functions: the collection a tree is, the
requirements files and entries, the search path, and ansible's own words for a missing
collection (captured from ansible-core 2.19 runs)."""

# ruff: noqa: E501 (ansible's messages, verbatim)
from __future__ import annotations

from pathlib import Path

from dag_harness_mcp.ansible.collections import (
    find_collection,
    install_command,
    join_paths,
    missing_in_output,
    read_requirements,
    requirement_files,
)

# What ansible-playbook 2.19 printed for a module, a role, a filter and a lookup of
# collections that were not installed.
ANSIBLE_SAID = """\
[WARNING]: Error loading plugin 'community.general.ufw': No module named 'ansible_collections.community'
[ERROR]: couldn't resolve module/action 'community.general.ufw'. This often indicates a misspelling, missing collection, or incorrect module path.
[ERROR]: the role 'debops.debops.secret' was not found in /tmp/rfx/roles:/tmp/rfx/roles:/tmp/rfx
fatal: [localhost]: FAILED! => {"msg": "Task failed: ... Syntax error in template: No filter named 'community.crypto.x509'."}
fatal: [localhost]: FAILED! => {"msg": "Task failed: ... The lookup plugin 'ansible.utils.index_of' was not found."}
ok: [localhost] => ansible.builtin.debug is fine
"""


def test_missing_collections_are_read_from_ansibles_own_messages() -> None:
    found = missing_in_output(ANSIBLE_SAID)
    assert list(found) == ["community.general", "debops.debops", "community.crypto",
                           "ansible.utils"]
    assert found["debops.debops"].startswith("[ERROR]: the role 'debops.debops.secret'")
    assert missing_in_output("TASK [x] ok\nPLAY RECAP ok=1 failed=0") == {}


def test_a_tree_with_galaxy_yml_above_its_roles_is_a_collection(tmp_path: Path) -> None:
    root = tmp_path / "ansible_collections/debops/debops"
    (root / "roles").mkdir(parents=True)
    assert find_collection(root / "roles") is None
    (root / "galaxy.yml").write_text("namespace: debops\nname: debops\nversion: 1.0.0\n"
                                     "dependencies: {ansible.posix: '*', 'x/y': '*'}\n")
    found = find_collection(root / "roles")
    assert found is not None and found.fqcn == "debops.debops"
    assert found.dependencies == ("ansible.posix",)
    assert found.root == root
    (root / "galaxy.yml").write_text("namespace: ../x\nname: y\n")
    assert find_collection(root / "roles") is None


def test_requirements_files_and_their_collection_entries(tmp_path: Path) -> None:
    roles = tmp_path / "ansible/roles"
    roles.mkdir(parents=True)
    (tmp_path / "ansible/requirements.yml").write_text(
        "roles: [geerlingguy.docker]\ncollections:\n  - community.general\n"
        "  - {name: ansible.posix, version: '>=1.5'}\n  - {name: /src/acme, type: dir}\n")
    (tmp_path / "collections").mkdir()
    (tmp_path / "collections/requirements.yml").write_text("collections: [ansible.utils]\n")
    files = requirement_files(tmp_path, roles)
    assert files == [tmp_path / "ansible/requirements.yml",
                     tmp_path / "collections/requirements.yml"]
    entries = read_requirements(files[0])
    assert [(e.name, e.type, e.fqcn) for e in entries] == [
        ("community.general", "galaxy", "community.general"),
        ("ansible.posix", "galaxy", "ansible.posix"), ("/src/acme", "dir", None)]
    assert install_command(["community.general", "ansible.posix"]) == (
        "ansible-galaxy collection install community.general ansible.posix")


def test_the_search_path_keeps_the_callers_paths_or_ansibles_defaults() -> None:
    assert join_paths(["/a", "/b"], None) == (
        "/a:/b:~/.ansible/collections:/usr/share/ansible/collections")
    assert join_paths(["/a"], "/mine:/a") == "/a:/mine"

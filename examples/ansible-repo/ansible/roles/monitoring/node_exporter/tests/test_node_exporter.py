"""Checks of the role: its YAML, its defaults, its templates (fixture `role`: conftest.py)."""


def test_tasks_are_named_and_defaults_namespaced(role):
    role.assert_conventions()


def test_exporter_listens_on_its_registered_port(role):
    assert role.defaults["node_exporter_port"] == 9100


def test_the_common_role_is_imported_first(role):
    first = role.load("tasks/main.yml")[0]
    assert first["ansible.builtin.import_role"]["name"] == "common"

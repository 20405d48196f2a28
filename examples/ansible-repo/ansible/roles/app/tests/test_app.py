"""Checks of the role: its YAML, its defaults, its templates (fixture `role`: conftest.py)."""


def test_tasks_are_named_and_defaults_namespaced(role):
    role.assert_conventions()


def test_version_is_semantic(role):
    parts = role.defaults["app_version"].split(".")
    assert len(parts) == 3 and all(part.isdigit() for part in parts)


def test_app_port_matches_the_nginx_upstream(role):
    nginx = role.sibling("nginx").defaults
    assert role.defaults["app_port"] == nginx["nginx_upstream_port"]

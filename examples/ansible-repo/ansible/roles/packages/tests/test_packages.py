"""Checks of the role: its YAML, its defaults, its templates (fixture `role`: conftest.py)."""


def test_tasks_are_named_and_defaults_namespaced(role):
    role.assert_conventions()


def test_package_list_is_sorted_and_unique(role):
    packages = role.defaults["packages_list"]
    assert packages == sorted(set(packages))


def test_package_names_are_debian_names(role):
    for name in role.defaults["packages_list"]:
        assert name == name.lower() and " " not in name

"""Checks of the role: its YAML, its defaults, its templates (fixture `role`: conftest.py)."""


def test_tasks_are_named_and_defaults_namespaced(role):
    role.assert_conventions()


import configparser


def test_configuration_is_valid_ini(role):
    parser = configparser.ConfigParser()
    parser.read_string(role.render("app.ini.j2", **role.defaults))
    assert parser["app"]["log_level"] in ("debug", "info", "warning", "error")
    assert int(parser["app"]["workers"]) >= 1


def test_owner_is_an_account_of_the_users_role(role):
    users = role.sibling("users").defaults
    names = [user["name"] for user in users["users_list"]]
    assert role.defaults["app_config_owner"] in names

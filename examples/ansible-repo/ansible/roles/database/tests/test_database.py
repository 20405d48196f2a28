"""Checks of the role: its YAML, its defaults, its templates (fixture `role`: conftest.py)."""


def test_tasks_are_named_and_defaults_namespaced(role):
    role.assert_conventions()


def test_connection_settings_render_as_key_value_lines(role):
    text = role.render("database.conf.j2", **role.defaults)
    settings = dict(line.split("=", 1) for line in text.splitlines())
    assert settings == {"host": "127.0.0.1", "port": "5432", "dbname": "app",
                        "pool_size": "10"}

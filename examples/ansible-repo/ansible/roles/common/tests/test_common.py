"""Checks of the role: its YAML, its defaults, its templates (fixture `role`: conftest.py)."""


def test_tasks_are_named_and_defaults_namespaced(role):
    role.assert_conventions()


def test_motd_shows_the_message_and_timezone(role):
    defaults = role.defaults
    text = role.render("motd.j2", **defaults)
    assert text.splitlines() == [defaults["common_motd"], "Timezone: UTC"]

"""Checks of the role: its YAML, its defaults, its templates (fixture `role`: conftest.py)."""


def test_tasks_are_named_and_defaults_namespaced(role):
    role.assert_conventions()


def test_schedule_has_one_cron_line_per_target(role):
    defaults = role.defaults
    text = role.render("schedule.j2", **defaults)
    lines = [line for line in text.splitlines() if line]
    assert len(lines) == len(defaults["backup_targets"])
    assert all(line.startswith(f"0 {defaults['backup_hour']} * * *") for line in lines)


def test_every_target_is_a_role_of_this_repository(role):
    for target in role.defaults["backup_targets"]:
        assert role.sibling(target).exists()

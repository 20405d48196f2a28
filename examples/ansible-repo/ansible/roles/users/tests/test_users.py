"""Checks of the role: its YAML, its defaults, its templates (fixture `role`: conftest.py)."""


def test_tasks_are_named_and_defaults_namespaced(role):
    role.assert_conventions()


def test_uids_are_unique_and_outside_the_system_range(role):
    uids = [user["uid"] for user in role.defaults["users_list"]]
    assert len(uids) == len(set(uids)) and min(uids) >= 1000


def test_accounts_manifest_has_one_line_per_user(role):
    users = role.defaults["users_list"]
    text = role.render("accounts.j2", users_list=users)
    assert [line.split(":")[0] for line in text.splitlines() if line] == [
        user["name"] for user in users]

"""Checks of the role: its YAML, its defaults, its templates (fixture `role`: conftest.py)."""


def test_tasks_are_named_and_defaults_namespaced(role):
    role.assert_conventions()


def test_ports_are_valid_tcp_ports(role):
    for port in role.defaults["firewall_allowed_ports"]:
        assert isinstance(port, int) and 0 < port < 65536


def test_default_policy_is_restrictive(role):
    assert role.defaults["firewall_default_policy"] in ("drop", "reject")

"""Checks of the role: its YAML, its defaults, its templates (fixture `role`: conftest.py)."""


def test_tasks_are_named_and_defaults_namespaced(role):
    role.assert_conventions()


def test_site_proxies_to_the_upstream_port(role):
    defaults = role.defaults
    text = role.render("site.conf.j2", **defaults)
    assert f"proxy_pass http://127.0.0.1:{defaults['nginx_upstream_port']};" in text


def test_listen_port_is_opened_by_the_firewall_defaults(role):
    firewall = role.sibling("firewall").defaults
    assert role.defaults["nginx_listen_port"] in firewall["firewall_allowed_ports"]

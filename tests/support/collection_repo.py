"""Role trees that are Ansible collections, committed on ``main`` with a bare ``origin``.

``collection_repo(base)`` writes ``base/repo`` laid out as DebOps is
(``ansible_collections/acme/stack/{galaxy.yml,plugins,roles}``): a module of the
collection's own (``acme.stack.noop``), roles that call it and each other by
fully-qualified name, a role needing a collection no machine has
(``nosuch.coll.thing``), and a local collection source ``base/sources/acme_extra``
(``acme.extra``, with module ``ping2``) that a ``requirements.yml`` may list as a
``type: dir`` entry. Every role has a pytest suite that runs ansible itself, so the
suite sees the environment the harness gives it.
"""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Iterable
from pathlib import Path

from dag_harness_mcp.service.example import publish_repository

__all__ = [
    "COLLECTION_ROLES",
    "DEBOPS_ROLES",
    "collection_repo",
    "debops_repo",
    "write_collection_source",
]

COLLECTION_ROLES = "ansible_collections/acme/stack/roles"

_MODULE = '''\
#!/usr/bin/python
from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec={}, supports_check_mode=True)
    module.exit_json(changed=False, msg="{name}")


if __name__ == "__main__":
    main()
'''

# The role's own suite: the syntax check of a play applying it, with the environment
# pytest got from the harness (ANSIBLE_ROLES_PATH, ANSIBLE_COLLECTIONS_PATH).
_SUITE = '''\
import os
import subprocess
import sys
from pathlib import Path


def test_the_role_passes_a_syntax_check_in_the_harness_environment(tmp_path):
    assert "ANSIBLE_COLLECTIONS_PATH" in os.environ
    play = tmp_path / "play.yml"
    play.write_text("- hosts: all\\n  gather_facts: false\\n  roles:\\n    - role: {role}\\n")
    bin_dir = Path(sys.executable).parent
    done = subprocess.run([str(bin_dir / "ansible-playbook"), "--syntax-check", "-i",
                           "localhost,", str(play)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
'''


# molecule on this machine, no containers (docs: NOTES' recipe); converge only
_MOLECULE = """\
driver: {name: default, options: {managed: false}}
platforms: [{name: localhost}]
provisioner:
  name: ansible
  env: {ANSIBLE_ROLES_PATH: "${MOLECULE_PROJECT_DIRECTORY}/.."}
  inventory:
    host_vars:
      localhost:
        ansible_connection: local
        ansible_python_interpreter: "{{ ansible_playbook_python }}"
role_name_check: 1
scenario: {test_sequence: [converge]}
"""


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")


def _role(roles: Path, name: str, tasks: str, *, tests: bool = True) -> None:
    _write(roles / name / "meta" / "main.yml",
           "galaxy_info: {author: tests, license: MIT}\ndependencies: []\n")
    _write(roles / name / "tasks" / "main.yml", tasks)
    if tests:
        _write(roles / name / "tests" / "test_role.py", _SUITE.replace("{role}", name))


def write_collection_source(base: Path) -> Path:
    """A local collection ``acme.extra`` (module ``ping2``), a ``type: dir`` source."""
    source = base / "sources" / "acme_extra"
    _write(source / "galaxy.yml",
           "namespace: acme\nname: extra\nversion: 1.0.0\nreadme: README.md\nauthors: [t]\n")
    _write(source / "README.md", "acme.extra\n")
    _write(source / "plugins" / "modules" / "ping2.py", _MODULE.replace("{name}", "ping2"))
    return source


def collection_repo(base: Path) -> Path:
    """``base/repo``: roles ``web`` (calls ``acme.stack.noop``), ``app`` (imports
    ``acme.stack.web``), ``broken`` and ``bare`` (no tests; both call ``nosuch.coll.thing``),
    ``molecular`` (a molecule scenario converging ``acme.stack.noop`` on localhost)
    and ``extra`` (calls
    ``acme.extra.ping2``, listed in ``requirements.yml`` as a local ``dir`` source);
    committed on main, pushed to ``base/origin.git``."""
    repo = base / "repo"
    collection = repo / "ansible_collections" / "acme" / "stack"
    _write(collection / "galaxy.yml",
           "namespace: acme\nname: stack\nversion: 1.0.0\nreadme: README.md\nauthors: [t]\n")
    _write(collection / "README.md", "acme.stack\n")
    _write(collection / "plugins" / "modules" / "noop.py", _MODULE.replace("{name}", "noop"))
    roles = collection / "roles"
    _role(roles, "web", """\
        - name: The collection's own module, by its full name
          acme.stack.noop:
        """)
    _role(roles, "app", """\
        - name: A role of the same collection, by its full name
          ansible.builtin.import_role:
            name: acme.stack.web
        """)
    _role(roles, "broken", """\
        - name: A module of a collection this machine does not have
          nosuch.coll.thing:
            state: present
        """)
    _role(roles, "bare", """\
        - name: The same, in a role without tests (only the syntax check sees it)
          nosuch.coll.thing:
        """, tests=False)
    _role(roles, "molecular", """\
        - name: The collection's own module, run for real by molecule on localhost
          acme.stack.noop:
        """, tests=False)
    _write(roles / "molecular" / "molecule" / "default" / "molecule.yml", _MOLECULE)
    _write(roles / "molecular" / "molecule" / "default" / "converge.yml",
           "- hosts: all\n  gather_facts: false\n  roles:\n    - role: molecular\n")
    source = write_collection_source(base)
    _role(roles, "extra", """\
        - name: A module of a collection that requirements.yml brings
          acme.extra.ping2:
        """)
    _write(collection / "requirements.yml",
           f"collections:\n  - name: {source}\n    type: dir\n")
    publish_repository(repo, base / "origin.git", message="a collection of roles")
    return repo


DEBOPS_ROLES = "ansible_collections/debops/debops/roles"


def debops_repo(
    base: Path, collection: Path, roles: Iterable[str], *, tested: Iterable[str] = ()
) -> Path:
    """``base/repo`` holding the real DebOps collection (``galaxy.yml``, ``meta``,
    ``plugins``) with only ``roles`` copied; the ``tested`` ones get the syntax-check
    suite (DebOps ships no tests); committed on main, pushed to ``base/origin.git``."""
    repo = base / "repo"
    target = repo / "ansible_collections" / "debops" / "debops"
    target.mkdir(parents=True)
    shutil.copy2(collection / "galaxy.yml", target / "galaxy.yml")
    for part in ("meta", "plugins"):
        shutil.copytree(collection / part, target / part)
    for role in roles:
        shutil.copytree(collection / "roles" / role, target / "roles" / role)
    for role in tested:
        _write(target / "roles" / role / "tests" / "test_role.py", _SUITE.replace("{role}", role))
    publish_repository(repo, base / "origin.git", message="DebOps roles")
    return repo

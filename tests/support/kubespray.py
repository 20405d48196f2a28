"""A role tree laid out like kubespray's, written here (no kubespray code or text).

What it has that flat trees lack: roles nested three deep
(``kubernetes-apps/ingress_controller/cert_manager``); role directories that hold
roles of their own (``network_plugin`` and ``network_plugin/calico``); one shared
``download`` role whose task files fifteen roles run by relative path
(``include_tasks: ../../../download/tasks/download_file.yml``, also ``import_tasks``,
``{{ role_path }}/...``, the ``file=`` and ``file:`` spellings and a templated file
name); vars read from another role (``include_vars``); roles named relative to an
enclosing directory (``role: policy_controller/calico`` inside ``kubernetes-apps/``);
and templated role names (``network_plugin/{{ kube_network_plugin }}``).

:data:`EXPECTED_EDGES` is the hand count of every in-repo edge the tree implies,
:data:`DOWNLOAD_DEPENDANTS` the roles that run ``download``'s files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

__all__ = ["DOWNLOAD_DEPENDANTS", "EXPECTED_EDGES", "TEMPLATED_EDGES", "build_kubespray_tree"]

_DL = "download/tasks/download_file.yml"

# role -> the task list of its tasks/main.yml (the download includes, by depth).
_DOWNLOADERS: dict[str, list[dict[str, Any]]] = {
    "etcd": [{"name": "get etcd", "include_tasks": f"../../{_DL}"}],
    "container-engine/containerd": [
        {"name": "get containerd", "include_tasks": f"../../../{_DL}"}
    ],
    "container-engine/cri-o": [
        {"name": "get crio", "ansible.builtin.include_tasks": {"file": f"../../../{_DL}"}}
    ],
    "container-engine/docker": [
        {"name": "get docker", "import_tasks": f"../../../{_DL}"}
    ],
    "kubernetes/node": [
        {
            "name": "binaries",
            "block": [{"name": "get kubelet", "include_tasks": f"../../../{_DL}"}],
        }
    ],
    "kubernetes/control-plane": [
        {"name": "get images", "include_tasks": "{{ role_path }}/../../download/tasks/"
         "download_container.yml"}
    ],
    "kubernetes/kubeadm": [
        {"name": "get kubeadm", "ansible.builtin.import_tasks": f"file=../../../{_DL}"}
    ],
    "kubernetes/client": [
        {"name": "get kubectl", "include_tasks": "../../../download/tasks/{{ download_kind }}.yml"}
    ],
    "network_plugin/calico": [{"name": "get calicoctl", "include_tasks": f"../../../{_DL}"}],
    "network_plugin/cilium": [
        {"name": "get cilium", "include_tasks": f"../../../{_DL}", "when": "cilium_cli"}
    ],
    "network_plugin/flannel": [{"name": "get flannel", "import_tasks": f"../../../{_DL}"}],
    "network_plugin/cni": [{"name": "get cni", "include_tasks": f"../../../{_DL}"}],
    "kubernetes-apps/ingress_controller/cert_manager": [
        {"name": "get cert-manager", "include_tasks": f"../../../../{_DL}"}
    ],
    "kubernetes-apps/ingress_controller/ingress_nginx": [
        {"name": "get ingress", "include_tasks": f"../../../../{_DL}"}
    ],
    "kubernetes-apps/helm": [
        {
            "name": "get helm",
            "include_tasks": {"file": f"../../../{_DL}", "apply": {"tags": ["helm"]}},
        }
    ],
}

DOWNLOAD_DEPENDANTS: tuple[str, ...] = tuple(sorted(_DOWNLOADERS))

TEMPLATED_EDGES: frozenset[tuple[str, str]] = frozenset(
    {
        ("network_plugin", "network_plugin/calico"),
        ("network_plugin", "network_plugin/cilium"),
        ("network_plugin", "network_plugin/cni"),
        ("network_plugin", "network_plugin/flannel"),
        ("container-engine", "container-engine/containerd"),
        ("container-engine", "container-engine/cri-o"),
        ("container-engine", "container-engine/docker"),
    }
)

EXPECTED_EDGES: frozenset[tuple[str, str]] = frozenset(
    {(role, "download") for role in _DOWNLOADERS}
    | TEMPLATED_EDGES
    | {
        ("kubernetes/preinstall", "kubespray-defaults"),  # include_vars
        ("etcd", "kubespray-defaults"),  # include_vars with file: and {{ role_path }}
        ("kubernetes/node", "kubernetes/preinstall"),  # meta, nested
        ("kubernetes/control-plane", "kubernetes/kubeadm"),  # meta, relative to kubernetes/
        ("kubernetes-apps", "kubernetes-apps/ansible"),  # meta, full path
        ("kubernetes-apps", "kubernetes-apps/policy_controller"),  # include_role, full path
        ("kubernetes-apps/policy_controller", "kubernetes-apps/policy_controller/calico"),
        ("kubernetes-apps/ingress_controller/ingress_nginx",
         "kubernetes-apps/ingress_controller/cert_manager"),  # import_role, sibling name
        ("network_plugin/calico", "network_plugin/cni"),  # meta, sibling name
    }
)


def _write(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _role(
    roles: Path, name: str, *, tasks: list[Any] | None = None, deps: list[Any] | None = None
) -> None:
    base = roles / name
    _write(base / "tasks" / "main.yml", tasks or [{"name": "noop", "ansible.builtin.meta": "noop"}])
    if deps is not None:
        _write(base / "meta" / "main.yml", {"dependencies": deps})


def build_kubespray_tree(root: Path) -> Path:
    """Write the tree under ``root/roles`` and return ``root``."""
    roles = root / "roles"
    # The shared role: its own includes (no edges), a file-level helper, defaults.
    _role(roles, "download", tasks=[
        {"name": "prep", "include_tasks": "prep.yml"},
        {"name": "prep again", "include_tasks": "{{ role_path }}/tasks/prep.yml"},
    ])
    noop = [{"name": "noop", "ansible.builtin.meta": "noop"}]
    _write(roles / "download" / "tasks" / "prep.yml", noop)
    _write(roles / "download" / "tasks" / "download_file.yml", [
        {"name": "fetch", "ansible.builtin.get_url": {"url": "{{ url }}", "dest": "/tmp/x"}},
    ])
    _write(roles / "download" / "tasks" / "download_container.yml", [
        {"name": "pull", "ansible.builtin.command": "true"},
    ])
    _write(roles / "download" / "tasks" / "online.yml", noop)
    _write(roles / "download" / "defaults" / "main.yml", {"download_run_once": False})
    # Shared variables read by path from other roles.
    _write(roles / "kubespray-defaults" / "defaults" / "main.yml", {"kube_version": "v1.31"})
    _write(roles / "kubespray-defaults" / "vars" / "main.yml", {"kube_proxy_mode": "ipvs"})
    for name, tasks in _DOWNLOADERS.items():
        _role(roles, name, tasks=tasks)
    # include_vars into another role, two spellings.
    _role(roles, "kubernetes/preinstall", tasks=[
        {"name": "vars", "include_vars": "../../../kubespray-defaults/vars/main.yml"},
        {"name": "own vars", "include_vars": "{{ ansible_os_family }}.yml"},
    ])
    etcd_tasks = [
        *_DOWNLOADERS["etcd"],
        {"name": "shared", "ansible.builtin.include_vars": {
            "file": "{{ role_path }}/../kubespray-defaults/defaults/main.yml"}},
    ]
    _role(roles, "etcd", tasks=etcd_tasks)
    # Meta dependencies: nested names, names relative to the enclosing directory.
    _role(roles, "kubernetes/node", tasks=_DOWNLOADERS["kubernetes/node"],
          deps=[{"role": "kubernetes/preinstall"}])
    _role(roles, "kubernetes/control-plane", tasks=_DOWNLOADERS["kubernetes/control-plane"],
          deps=["kubeadm"])
    _role(roles, "network_plugin/calico", tasks=_DOWNLOADERS["network_plugin/calico"],
          deps=[{"role": "cni", "when": "calico_cni"}])
    # A role directory holding roles of its own, choosing one by a templated name.
    _role(roles, "network_plugin", tasks=[
        {"name": "plugin", "include_role": {"name": "network_plugin/{{ kube_network_plugin }}"}},
        {"name": "custom", "include_role": {"name": "{{ custom_network_role }}"}},
    ])
    _role(roles, "container-engine", tasks=[{"name": "noop", "ansible.builtin.meta": "noop"}],
          deps=[{"role": "container-engine/{{ container_manager }}"}])
    # kubernetes-apps: an umbrella role and apps nested up to three deep.
    _role(roles, "kubernetes-apps", deps=[{"role": "kubernetes-apps/ansible"}], tasks=[
        {"name": "policy", "import_role": {"name": "kubernetes-apps/policy_controller"}},
    ])
    _role(roles, "kubernetes-apps/ansible")
    _role(roles, "kubernetes-apps/policy_controller", deps=[{"role": "policy_controller/calico"}])
    _role(roles, "kubernetes-apps/policy_controller/calico")
    _role(roles, "kubernetes-apps/ingress_controller/ingress_nginx", tasks=[
        *_DOWNLOADERS["kubernetes-apps/ingress_controller/ingress_nginx"],
        {"name": "certs", "import_role": {"name": "cert_manager"}},
    ])
    return root

"""Ansible knowledge as pure functions: role discovery, references, the graph, waves."""

from dag_harness_mcp.ansible.discovery import DiscoveredRole, discover_roles
from dag_harness_mcp.ansible.graph import find_cycles
from dag_harness_mcp.ansible.references import (
    Reference,
    ResolvedReference,
    RoleScan,
    resolve_reference,
    scan_role,
)
from dag_harness_mcp.ansible.waves import WavePlan, plan_waves

__all__ = [
    "DiscoveredRole",
    "Reference",
    "ResolvedReference",
    "RoleScan",
    "WavePlan",
    "discover_roles",
    "find_cycles",
    "plan_waves",
    "resolve_reference",
    "scan_role",
]

"""validate_role, analyze_deps, check_reverse_deps and validate_deploy."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from langgraph.runtime import Runtime

from dag_harness_mcp.errors import NotFoundError, WorkflowError
from dag_harness_mcp.graph.nodes.collections import (
    collections_env,
    missing_collection_error,
    missing_collections,
)
from dag_harness_mcp.graph.nodes.decorator import Update, node
from dag_harness_mcp.graph.state import BoxUpRoleState, NodeContext
from dag_harness_mcp.names import resolve_role_dir, validate_role_name
from dag_harness_mcp.runner.process import run_process, tool_env

__all__ = [
    "analyze_deps", "check_reverse_deps", "probe_tests", "validate_deploy", "validate_role",
]


def probe_tests(role_dir: Path) -> tuple[bool, bool]:
    """Whether the role has a molecule scenario, and a pytest suite."""
    molecule, tests = role_dir / "molecule", role_dir / "tests"
    return (molecule.is_dir() and any(molecule.glob("*/molecule.yml")),
            tests.is_dir() and any(tests.rglob("test_*.py")))


def _probe(role_dir: Path) -> tuple[bool, bool, bool]:
    return (role_dir.is_dir(), *probe_tests(role_dir))


@node("validate_role")
async def validate_role(state: BoxUpRoleState, runtime: Runtime[NodeContext]) -> Update:
    """The role name is safe, the role is known to the StateDB and present in the checkout."""
    deps = runtime.context.deps
    settings = deps.settings
    name = validate_role_name(state.get("role_name"))
    row = await asyncio.to_thread(deps.roles.get, name)
    if row is None:
        await asyncio.to_thread(deps.sync_roles)
        row = await asyncio.to_thread(deps.roles.get, name)
    roles_dir = Path(state.get("repo_root") or settings.repo_root) / settings.roles_path
    if row is None:
        raise NotFoundError(
            f"role {name!r} not found under {roles_dir}; check the name (`harness roles`) "
            "or point --repo at the repository that holds it"
        )
    role_dir = resolve_role_dir(roles_dir, name)
    exists, has_molecule, has_pytest = await asyncio.to_thread(_probe, role_dir)
    if not exists:
        raise NotFoundError(
            f"role {name!r} is in the StateDB but not on disk at {role_dir}; run `harness sync`"
        )
    requested = state.get("repair_round_limit")
    return {
        "role_name": name,
        "role_path": str(role_dir),
        "role_rel_path": f"{settings.roles_path}/{name}",
        "wave": row.get("wave"),
        "has_molecule_tests": has_molecule,
        "has_pytest_tests": has_pytest,
        "untested": not (has_molecule or has_pytest),
        "test_retry_limit": settings.tests.retry_failed_tests,
        "test_retries": 0,
        # per run (box_up_role(repair_rounds=...)) or the setting
        "repair_round_limit": settings.repair_rounds if requested is None else max(0, requested),
        "repair_round": 0,
        "scaffold_tests": state.get("scaffold_tests") or settings.scaffold_tests,
    }


def _missing(edge: Mapping[str, Any]) -> bool:
    """An unresolved plain name: a role this repository should hold but does not (dotted
    names come from Galaxy or a collection: external, not missing)."""
    return edge["kind"] == "external" and "." not in str(edge["reference"])


@node("analyze_deps")
async def analyze_deps(state: BoxUpRoleState, runtime: Runtime[NodeContext]) -> Update:
    """The role's in-repo dependencies; a dependency missing from the repository fails the run."""
    deps = runtime.context.deps
    name = state["role_name"]
    edges = await asyncio.to_thread(deps.roles.direct_dependencies, name)
    missing = [e for e in edges if _missing(e)]
    if missing:
        listed = ", ".join(
            f"{e['reference']!r} ({e['source_file'] or e['source']})" for e in missing
        )
        raise WorkflowError(
            f"role {name!r} depends on {listed}, not found under {deps.settings.roles_path}; "
            "add the role to the repository or remove the reference, then `harness sync`"
        )
    direct = sorted({str(e["depends_on"] or e["reference"]) for e in edges if e["kind"] == "role"})
    external = sorted({str(e["reference"]) for e in edges if e["kind"] == "external"})
    transitive = await asyncio.to_thread(deps.roles.transitive_dependencies, name)
    return {
        "dependencies": direct,
        "transitive_dependencies": [str(r["role"]) for r in transitive],
        "external_dependencies": external,
    }


@node("check_reverse_deps")
async def check_reverse_deps(state: BoxUpRoleState, runtime: Runtime[NodeContext]) -> Update:
    """The roles that depend on this one (for the report and the descriptions)."""
    roles = runtime.context.deps.roles
    rows = await asyncio.to_thread(roles.transitive_dependants, state["role_name"])
    return {
        "dependants": [str(r["role"]) for r in rows if int(r["depth"]) == 1],
        "transitive_dependants": [str(r["role"]) for r in rows],
    }


def _playbook(role: str) -> str:
    return (
        "- name: Box-up deploy check\n"
        "  hosts: all\n"
        "  gather_facts: false\n"
        "  roles:\n"
        f"    - role: {role}\n"
    )


@node("validate_deploy")
async def validate_deploy(state: BoxUpRoleState, runtime: Runtime[NodeContext]) -> Update:
    """``ansible-playbook --syntax-check`` of a playbook applying the role from the worktree."""
    settings = runtime.context.settings
    worktree = Path(state["worktree_path"])
    roles_dir = worktree / settings.roles_path
    with tempfile.TemporaryDirectory(prefix="harness-deploy-") as tmp:
        playbook = Path(tmp) / "deploy-check.yml"
        playbook.write_text(_playbook(state["role_name"]), encoding="utf-8")
        argv = [*settings.tests.syntax_check, str(playbook)]
        env = tool_env({"ANSIBLE_ROLES_PATH": str(roles_dir), **collections_env(state)})
        result = await run_process(
            argv,
            cwd=worktree,
            timeout=settings.tests.syntax_check_timeout,
            env=env,
            tail_bytes=settings.tests.output_tail_bytes,
            children=runtime.context.children,
        )
    if not result.ok:
        missing = await missing_collections(result.output_tail, env, runtime.context.children)
        if missing:
            raise missing_collection_error(state["role_name"], missing, "the syntax check")
        raise WorkflowError(
            f"the deploy check `{' '.join(argv[:2])}` failed for role {state['role_name']!r} "
            f"(exit {result.returncode}); fix the role's syntax: {result.output_tail[-800:]}"
        )
    return {"deploy_validated": True}

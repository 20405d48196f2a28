"""Which roles are boxed up already: the checks a new box-up run makes before it starts.

A role is **boxed up** when a box-up merge request of it merged (the GitLab forge learns
that from ``harness merge-train``), or, on the local forge, when a run of it completed.
``box-up-role`` refuses while a dependency is not boxed up (:func:`missing_dependencies`),
and a role whose files equal its last box-up's (:func:`unchanged_since`) has nothing to do.
"""

from __future__ import annotations

from dataclasses import dataclass

from dag_harness_mcp.errors import WorkflowError
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.run_types import json_or

__all__ = ["BoxedUp", "DependencyOrderError", "MissingDependency", "last_boxed_up",
           "missing_dependencies", "refuse_unboxed_dependencies", "unchanged_since"]

_MANIFEST = ".boxed-up.yml"  # graph.nodes.vcs.MANIFEST_NAME, which imports LangGraph


@dataclass(frozen=True)
class BoxedUp:
    """A role's newest box-up that got in: the commit it merged, and where from."""

    role: str
    commit_sha: str
    at: str  # when it merged or completed (ISO time)
    mr_url: str | None = None
    execution_id: int | None = None


@dataclass(frozen=True)
class MissingDependency:
    role: str
    wave: int | None


class DependencyOrderError(WorkflowError):
    """A role's dependencies are not boxed up yet; ``missing`` in the order to box them up."""

    def __init__(self, role: str, missing: list[MissingDependency]) -> None:
        self.role = role
        self.missing = [m.role for m in missing]
        listed = ", ".join(
            f"{m.role} (wave {m.wave if m.wave is not None else '?'})" for m in missing)
        order = " then ".join(f"`harness box-up-role {name}`" for name in self.missing[:5])
        more = f" and {len(self.missing) - 5} more" if len(self.missing) > 5 else ""
        super().__init__(
            f"role {role!r} depends on roles that are not boxed up yet: {listed}; box them up "
            f"first, in this order: {order}{more} (or `harness run-waves`); to box up {role!r} "
            "anyway, ask the person, then pass --ignore-deps (MCP: ignore_deps=true)"
        )


def last_boxed_up(app: HarnessApp, role: str) -> BoxedUp | None:
    """The role's newest merged box-up (or, with the local forge, completed run)."""
    found: list[BoxedUp] = []
    for mr in app.db.forge.merge_requests_for_role(role):
        if mr["state"] == "merged" and mr.get("sha"):
            found.append(BoxedUp(role, str(mr["sha"]), str(mr.get("merged_at") or ""),
                                 mr_url=mr.get("web_url"), execution_id=mr.get("execution_id")))
    if app.settings.forge_kind == "local":
        for row in app.db.executions.list(status="completed", role=role, limit=5):
            summary = json_or(row.get("result"), None)
            if not isinstance(summary, dict):
                continue
            sha = summary.get("boxed_up_sha") or summary.get("commit_sha")
            if sha:
                found.append(BoxedUp(role, str(sha), str(row.get("updated_at") or ""),
                                     mr_url=summary.get("mr_url"), execution_id=int(row["id"])))
    return max(found, key=lambda b: b.at) if found else None


def missing_dependencies(app: HarnessApp, role: str) -> list[MissingDependency]:
    """The role's in-repo dependencies (transitive) with no box-up, by wave then name."""
    missing = []
    for dep in app.db.roles.transitive_dependencies(role):
        name = str(dep["role"])
        if last_boxed_up(app, name) is None:
            row = app.db.roles.get(name)
            missing.append(MissingDependency(name, row.get("wave") if row else None))
    missing.sort(key=lambda m: (m.wave if m.wave is not None else 1 << 30, m.role))
    return missing


def refuse_unboxed_dependencies(app: HarnessApp, role: str) -> None:
    """Raise :class:`DependencyOrderError` while a dependency of ``role`` is not boxed up."""
    missing = missing_dependencies(app, role)
    if missing:
        raise DependencyOrderError(role, missing)


async def unchanged_since(app: HarnessApp, role: str, boxed: BoxedUp) -> bool:
    """Whether the role's directory where a new run would start (see ``pick_base``) equals
    the boxed-up commit's, its manifest aside; False when this clone lacks the commit."""
    from dag_harness_mcp.git.branch import pick_base
    from dag_harness_mcp.git.run import run_git

    settings = app.settings
    root = settings.repo_root
    path = f"{settings.roles_path}/{role}"
    known = await run_git(["cat-file", "-e", f"{boxed.commit_sha}^{{commit}}"], root, check=False)
    if not known.ok:
        return False
    base = await pick_base(root, settings.remote, settings.default_branch)
    diff = await run_git(
        ["diff", "--quiet", boxed.commit_sha, base.sha, "--", path,
         f":(exclude){path}/{_MANIFEST}"],
        root, check=False,
    )
    return diff.returncode == 0

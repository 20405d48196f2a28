"""What a node gets: the state of one box-up run (checkpointed) and its reducers, so keys
the parallel test nodes write in one step never collide; and its context (LangGraph's
runtime context, never checkpointed): the run's identity and the narrow WorkflowDeps the
service layer builds."""

from __future__ import annotations

import asyncio
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, TypedDict

from dag_harness_mcp.runner.process import ChildRegistry, execution_children, owner_of

if TYPE_CHECKING:
    from dag_harness_mcp.config import Settings
    from dag_harness_mcp.db.repos.capabilities import CapabilityRepository
    from dag_harness_mcp.db.repos.roles import RoleRepository
    from dag_harness_mcp.db.repos.suite_runs import SuiteRunRepository
    from dag_harness_mcp.db.repos.worktrees import WorktreeRepository
    from dag_harness_mcp.forge.base import Audit, Forge

__all__ = [
    "BoxUpRoleState", "NodeContext", "WorkflowDeps", "keep_first", "keep_last_n", "kinds_of",
    "merge_dicts",
]


def keep_last_n(n: int) -> Callable[[list[Any] | None, list[Any] | Any | None], list[Any]]:
    """A reducer appending the update (a list or one item; ``None`` is empty) to the list
    and keeping only the last ``n`` items."""
    if n < 1:
        raise ValueError(f"keep_last_n needs n >= 1, got {n}")

    def reduce(left: list[Any] | None, right: list[Any] | Any | None) -> list[Any]:
        added = [] if right is None else right if isinstance(right, list) else [right]
        return [*(left or []), *added][-n:]

    reduce.__name__ = f"keep_last_{n}"
    return reduce


def merge_dicts(
    left: Mapping[str, Any] | None, right: Mapping[str, Any] | None
) -> dict[str, Any]:
    """A reducer merging dictionaries; the update wins on equal keys."""
    return {**(left or {}), **(right or {})}


def keep_first(left: str | None, right: str | None) -> str | None:
    """A reducer keeping the first non-empty value (the first node that failed)."""
    return left if left else right


class BoxUpRoleState(TypedDict, total=False):
    # identity (initial_state)
    role_name: str
    execution_id: int | None
    thread_id: str
    repo_root: str
    status: str  # running | completed | failed | rejected
    # validate_role
    role_path: str
    role_rel_path: str  # below the repository root, e.g. ansible/roles/common
    wave: int | None
    has_molecule_tests: bool
    has_pytest_tests: bool
    untested: bool  # neither a molecule scenario nor a pytest suite: only a syntax check
    test_retry_limit: int
    # run options (initial_state)
    allow_untested: bool  # auto-approve may merge an untested role
    repair_round_limit: int  # repair pauses allowed (set per run, else settings.repair_rounds)
    # analyze_deps / check_reverse_deps
    dependencies: list[str]
    transitive_dependencies: list[str]
    external_dependencies: list[str]
    dependants: list[str]
    transitive_dependants: list[str]
    # create_worktree
    worktree_path: str
    worktree_role_path: str
    branch: str
    base_sha: str
    collections_path: str  # ANSIBLE_COLLECTIONS_PATH of every ansible/molecule/pytest call
    # tests
    molecule_result: dict[str, Any] | None
    pytest_result: dict[str, Any] | None
    molecule_passed: bool
    pytest_passed: bool
    tests_passed: bool
    failed_kinds: list[str]
    test_retries: int
    test_summary: list[dict[str, Any]]
    regressions: list[str]
    # the repair loop: rounds the agent has had, and the re-test stage now running
    repair_round: int
    retest: str | None  # 'failed' (the kinds that failed) | 'all' (everything once more)
    tests_repairable: bool  # False when a test command could not even start
    scaffold_tests: str  # 'ask': an untested role pauses once for tests | 'never'
    scaffold_asked: bool
    # validate_deploy, create_commit, push_branch
    deploy_validated: bool
    manifest_path: str
    commit_sha: str
    pushed: bool
    # forge
    issue_iid: int | None
    issue_url: str | None
    mr_iid: int | None
    mr_url: str | None
    merge_request: dict[str, Any] | None
    merge_train: dict[str, Any] | None
    # approval
    human_approved: bool
    approval_comment: str
    # outcome
    summary: dict[str, Any]
    failed_node: Annotated[str | None, keep_first]
    errors: Annotated[list[str], operator.add]
    notes: Annotated[list[str], operator.add]  # what a person should know (branch made how)
    state_snapshots: Annotated[list[dict[str, Any]], keep_last_n(10)]
    node_durations: Annotated[dict[str, float], merge_dicts]


def kinds_of(state: BoxUpRoleState) -> list[str]:
    """The kinds of tests the role has, in a fixed order."""
    has = {"molecule": state.get("has_molecule_tests"), "pytest": state.get("has_pytest_tests")}
    return [kind for kind, present in has.items() if present]


@dataclass(frozen=True)
class WorkflowDeps:
    """What the nodes use of the process: built once per app by the service layer."""

    settings: Settings
    roles: RoleRepository
    tests: SuiteRunRepository
    worktrees: WorktreeRepository
    capabilities: CapabilityRepository
    audit: Audit
    sync_roles: Callable[[], object]  # rescan the roles path (a role the StateDB lacks)


@dataclass
class NodeContext:
    deps: WorkflowDeps
    forge: Forge
    execution_id: int
    thread_id: str
    auto_approve: bool = False

    @property
    def settings(self) -> Settings:
        return self.deps.settings

    @property
    def children(self) -> tuple[ChildRegistry, str]:
        """Where a node records the commands it starts (``run_process(children=...)``), so
        a resume after ``kill -9`` can stop the ones still running."""
        return execution_children(self.settings.database_path), owner_of(self.execution_id)

    async def audit(self, action: str, **details: Any) -> None:
        """Record ``action`` on this execution in the audit log (off the event loop)."""
        await asyncio.to_thread(
            self.deps.audit, action, entity_type="execution", entity_id=self.execution_id,
            details=details,
        )

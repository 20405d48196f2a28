"""The workflow's nodes, one module per group; each is an async ``(state, runtime)`` function."""

from dag_harness_mcp.graph.nodes.forge_nodes import (
    add_to_merge_train,
    create_issue,
    create_mr,
    human_approval,
)
from dag_harness_mcp.graph.nodes.reporting import notify_failure, report_summary
from dag_harness_mcp.graph.nodes.testing import (
    merge_test_results,
    recovery,
    repair,
    run_molecule,
    run_pytest,
    scaffold_tests,
)
from dag_harness_mcp.graph.nodes.validation import (
    analyze_deps,
    check_reverse_deps,
    validate_deploy,
    validate_role,
)
from dag_harness_mcp.graph.nodes.vcs import create_commit, create_worktree, push_branch

__all__ = [
    "add_to_merge_train", "analyze_deps", "check_reverse_deps", "create_commit", "create_issue",
    "create_mr", "create_worktree", "human_approval", "merge_test_results", "notify_failure",
    "push_branch", "recovery", "repair", "report_summary", "run_molecule", "run_pytest",
    "scaffold_tests", "validate_deploy", "validate_role",
]

"""run_molecule ‖ run_pytest, merge_test_results, the bounded recovery round and the
repair loop. A test node runs one configured command in the worktree's role, records
per-test outcomes (with regressions) and, when it fails, a bounded failure digest; a
failing test is a result, not a node failure. ``repair`` and ``scaffold_tests`` pause so
the agent fixes the role (or gives an untested role tests) in its worktree; resuming
re-tests the failed kinds, then every kind once more."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from dag_harness_mcp import sandbox
from dag_harness_mcp.ansible.collections import join_paths
from dag_harness_mcp.db.repos.suite_runs import CaseOutcome, SuiteRun
from dag_harness_mcp.errors import WorkflowError
from dag_harness_mcp.graph.nodes.collections import (
    COLLECTIONS_ENV,
    collections_env,
    missing_collection_error,
    missing_collections,
)
from dag_harness_mcp.graph.nodes.decorator import Update, node
from dag_harness_mcp.graph.nodes.validation import probe_tests
from dag_harness_mcp.graph.state import BoxUpRoleState, NodeContext, kinds_of
from dag_harness_mcp.runner.digest import (
    Failure,
    bound_digest,
    digest_size,
    logs_hint,
    molecule_failures,
    output_failure,
    pytest_failures,
    repair_request,
    scaffold_request,
)
from dag_harness_mcp.runner.process import ProcessResult, role_toolchain, run_process, tool_env
from dag_harness_mcp.runner.results import (
    CaseResult,
    parse_junit_xml,
    parse_molecule_output,
    parse_pytest_summary,
    summarize,
)

__all__ = [
    "merge_test_results", "recovery", "repair", "run_molecule", "run_pytest", "scaffold_tests",
    "test_command",
]

_PARSE_TAIL = 256 * 1024  # molecule's step report sits at the end of its output
_MAX_FAILING_LISTED = 50


def test_command(template: list[str], *, role: str, role_dir: Path, worktree: Path,
                 python: Path | None = None) -> list[str]:
    """The configured command with ``{role}``, ``{role_dir}``, ``{worktree}``, ``{python}``
    (the toolchain's interpreter, default the harness's) substituted."""
    values = {
        "role": role, "role_dir": str(role_dir), "worktree": str(worktree),
        "python": str(python or sys.executable),
    }
    return [part.format(**values) for part in template]


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _is_pytest(argv: list[str]) -> bool:
    """pytest itself, ``python -m pytest``, or either behind a wrapper (``env X=1 ...``,
    ``uv run ...``): then the node asks it for a JUnit file."""
    return any(Path(a).name.startswith(("pytest", "py.test")) for a in argv[:8])


def _status(result: ProcessResult, cases: list[CaseResult]) -> str:
    if result.timed_out:
        return "timeout"
    if result.not_found or result.returncode is None:
        return "error"
    if result.returncode == 0:
        return "passed"
    return "failed" if cases else "error"


async def _run_kind(kind: str, state: BoxUpRoleState, ctx: NodeContext) -> Update:
    settings = ctx.settings
    cfg = settings.tests
    worktree = Path(state["worktree_path"])
    role_dir = Path(state["worktree_role_path"])
    template = cfg.molecule if kind == "molecule" else cfg.pytest
    toolchain = role_toolchain(settings.repo_root, cfg.environment)
    argv = test_command(template, role=state["role_name"], role_dir=role_dir, worktree=worktree,
                        python=toolchain.python)
    timeout = cfg.molecule_timeout if kind == "molecule" else cfg.pytest_timeout
    extra = {"ANSIBLE_ROLES_PATH": str(worktree / settings.roles_path), **collections_env(state)}
    if toolchain.source == "repository":
        extra["VIRTUAL_ENV"] = str(toolchain.prefix)
    # Per run scratch: pytest's JUnit file, and molecule's ephemeral directory (by default
    # keyed on the role directory's name only, so two runs of one role would share it).
    children = ctx.children
    scratch = await asyncio.to_thread(children[0].scratch, children[1], kind)
    junit: Path | None = None
    junit_text: str | None = None
    if kind == "molecule":
        extra["MOLECULE_EPHEMERAL_DIRECTORY"] = str(scratch / "molecule")
        if "ANSIBLE_HOME" not in os.environ:
            # molecule links the role as ``<ANSIBLE_HOME>/roles/<namespace>.<name>``: two
            # runs of one role (two checkouts on one machine) raced on ~/.ansible's link.
            extra["ANSIBLE_HOME"] = str(scratch / "ansible-home")
            # ansible's default collections path follows ANSIBLE_HOME: keep the real one.
            extra.setdefault(COLLECTIONS_ENV, join_paths([], os.environ.get(COLLECTIONS_ENV)))
        if COLLECTIONS_ENV in extra:
            # molecule installs a role's enclosing collection (``../../galaxy.yml``) into
            # the first collections path, with --force: a scratch one, not our link.
            first = scratch / "collections"
            extra[COLLECTIONS_ENV] = f"{first}{os.pathsep}{extra[COLLECTIONS_ENV]}"
    elif _is_pytest(argv) and not any("--junitxml" in a for a in argv):
        junit = scratch / "results.xml"
        argv.append(f"--junitxml={junit}")
    env = tool_env(extra, toolchain.bin_dirs)
    command = argv
    confined = _confined(state, cfg.sandbox)
    try:
        if confined:
            command = await _in_sandbox(argv, kind, state, ctx, scratch, env)
        result = await run_process(
            command, cwd=role_dir, timeout=timeout, env=env,
            tail_bytes=max(cfg.output_tail_bytes, _PARSE_TAIL), children=children,
        )
        if kind == "molecule":
            cases = parse_molecule_output(result.output_tail)
        elif junit is not None:
            cases = parse_junit_xml(junit)
            junit_text = await asyncio.to_thread(_read_text, junit)
        else:
            cases = parse_pytest_summary(result.output_tail)
    finally:
        await asyncio.to_thread(shutil.rmtree, scratch, ignore_errors=True)
    status = _status(result, cases)
    if not cases:
        cases = [CaseResult(kind, "passed" if status == "passed" else "failed")]
    summary = summarize(cases)
    record = SuiteRun(
        role_name=state["role_name"], kind=kind, status=status,
        started_at=result.started_at, finished_at=result.finished_at,
        passed=summary.passed, failed=summary.failed, skipped=summary.skipped,
        exit_code=result.returncode, duration_ms=round(result.duration_s * 1000, 3),
        command=("[sandbox] " if confined else "") + " ".join(argv),
        output_tail=result.output_tail[-cfg.output_tail_bytes :],
        execution_id=ctx.execution_id,
        results=[CaseOutcome(c.name, c.outcome, c.duration_ms) for c in cases],
    )
    recorded = await asyncio.to_thread(ctx.deps.tests.record, record)
    if status != "passed":
        missing = await missing_collections(result.output_tail, env, children)
        if missing:  # no repair of the role helps: the machine lacks a collection
            raise missing_collection_error(state["role_name"], missing, kind)
    failing = [c.name for c in cases if c.outcome in ("failed", "error")]
    outcome: dict[str, Any] = {
        "kind": kind, "status": status, "passed": summary.passed, "failed": summary.failed,
        "skipped": summary.skipped, "exit_code": result.returncode,
        "duration_ms": record.duration_ms, "run_id": recorded.run_id,
        "started_at": result.started_at, "finished_at": result.finished_at,
        "failing": failing[:_MAX_FAILING_LISTED], "regressions": recorded.regressions,
        "flaky": recorded.flaky,
    }
    if confined:
        outcome["sandboxed"] = True
    if result.not_found:
        outcome["cannot_start"] = True  # the environment's problem: no repair of the role helps
    if status != "passed":
        outcome["output_tail"] = result.output_tail[-2000:]
        outcome["digest"] = bound_digest(
            _failures(kind, result.output_tail, junit_text, role_dir),
            more=logs_hint(ctx.execution_id, kind),
        )
    if kind == "molecule":
        return {"molecule_result": outcome, "molecule_passed": status == "passed"}
    return {"pytest_result": outcome, "pytest_passed": status == "passed"}


def _confined(state: BoxUpRoleState, setting: str) -> bool:
    """Whether this test run goes in the sandbox: ``tests.sandbox`` 'always', or
    'after_repair' once the agent may have changed the worktree (a repair or a
    scaffold_tests pause came before)."""
    if setting == "always":
        return True
    if setting != "after_repair":
        return False
    return int(state.get("repair_round") or 0) > 0 or bool(state.get("scaffold_asked"))


async def _in_sandbox(argv: list[str], kind: str, state: BoxUpRoleState, ctx: NodeContext,
                      scratch: Path, env: dict[str, str]) -> list[str]:
    """``argv`` inside bubblewrap: the worktree and ``scratch`` writable; the StateDB, the
    checkpoints, the repository (its object store and refs too), origin and $HOME read-only;
    no network unless the run's context grants it. No sandbox here: an environment error."""
    settings = ctx.settings
    db = settings.database_path
    bwrap, why = await asyncio.to_thread(sandbox.probe, str(db.parent), env)
    if bwrap is None:
        raise WorkflowError(
            f"environment problem, not the role's: the {kind} run of role "
            f"{state['role_name']!r} tests code the agent may have changed, which runs only "
            f"in a sandbox (tests.sandbox: {settings.tests.sandbox}), and none can be made "
            f"here: {why}; then box the role up again (`harness box-up-role "
            f"{state['role_name']}`), or set `tests: {{sandbox: never}}` in harness.yml to "
            "run such tests unconfined")
    contexts = await asyncio.to_thread(
        ctx.deps.capabilities.contexts, execution_id=ctx.execution_id
    )
    plan = sandbox.make_plan(
        [state["worktree_path"], str(scratch)], project_dir=str(settings.repo_root),
        db_path=str(db), network=any("network" in c["capabilities"] for c in contexts),
        default_branches=(settings.default_branch,), home=env.get("HOME"), commits=False)
    role_dir = state["worktree_role_path"]
    return [*sandbox.bwrap_args(bwrap, plan, env), "--chdir", role_dir, "--", *argv]


def _failures(kind: str, output: str, junit_text: str | None, role_dir: Path) -> list[Failure]:
    """What failed, as finely as the output tells: JUnit cases, molecule tasks, or the
    command's last lines."""
    found: list[Failure] = []
    if junit_text:
        found = pytest_failures(junit_text, kind=kind)
    elif kind == "molecule":
        found = molecule_failures(output, role_dir=str(role_dir), kind=kind)
    return found or [output_failure(kind, output)]


@node("run_molecule")
async def run_molecule(state: BoxUpRoleState, runtime: Runtime[NodeContext]) -> Update:
    """``molecule test`` (or the configured command) in the role inside the worktree."""
    return await _run_kind("molecule", state, runtime.context)


@node("run_pytest")
async def run_pytest(state: BoxUpRoleState, runtime: Runtime[NodeContext]) -> Update:
    """pytest on the role's tests (or the configured command) inside the worktree."""
    return await _run_kind("pytest", state, runtime.context)


@node("merge_test_results")
async def merge_test_results(state: BoxUpRoleState, runtime: Runtime[NodeContext]) -> Update:
    """Join the test branches: overall pass/fail, the failing kinds, a table for the reports."""
    summary: list[dict[str, Any]] = []
    failed_kinds: list[str] = []
    # Kept over recovery rounds: a re-run that fails again is no new regression, but the
    # first round's regression still is one.
    regressions: list[str] = list(state.get("regressions") or [])
    repairable = True
    for kind in kinds_of(state):
        result = state.get("molecule_result" if kind == "molecule" else "pytest_result")
        if not isinstance(result, dict):
            failed_kinds.append(kind)
            repairable = False
            continue
        if result.get("status") != "passed" and result.get("cannot_start"):
            repairable = False
        summary.append({k: result.get(k) for k in (
            "kind", "status", "passed", "failed", "skipped", "duration_ms", "run_id",
            "started_at", "finished_at",
        )})
        for name in result.get("regressions", []):
            if f"{kind}: {name}" not in regressions:
                regressions.append(f"{kind}: {name}")
        if result.get("status") != "passed":
            failed_kinds.append(kind)
    # After a repair: the kinds that failed pass -> every kind once more -> on.
    stage = state.get("retest")
    retest = "all" if not failed_kinds and stage == "failed" else None
    return {
        "tests_passed": not failed_kinds,
        "failed_kinds": failed_kinds,
        "test_summary": summary,
        "regressions": regressions,
        "retest": retest,
        "tests_repairable": repairable,
    }


@node("recovery")
async def recovery(state: BoxUpRoleState, runtime: Runtime[NodeContext]) -> Update:
    """One more round for the kinds that failed (bounded by ``tests.retry_failed_tests``)."""
    retries = int(state.get("test_retries", 0)) + 1
    kinds = state.get("failed_kinds") or []
    await runtime.context.audit("workflow.recovery", role=state["role_name"], kinds=kinds,
                                round=retries)
    return {"test_retries": retries}


@node("repair")
async def repair(state: BoxUpRoleState, runtime: Runtime[NodeContext]) -> Update:
    """Interrupt with the repair request; on resume, count the round and re-test."""
    request: dict[str, Any] = repair_request(state)
    interrupt(request)  # (the answer carries nothing: the agent's edits are in the worktree)
    await runtime.context.audit(
        "workflow.repair", role=state["role_name"], round=request["round"],
        rounds=request["rounds"], kinds=request["failed_kinds"],
        digest_bytes=digest_size(request["digest"]))
    return {"repair_round": request["round"], "retest": "failed"}


@node("scaffold_tests")
async def scaffold_tests(state: BoxUpRoleState, runtime: Runtime[NodeContext]) -> Update:
    """Interrupt once for an untested role; on resume, look again for the tests the agent
    added in the worktree (none: the run goes on untested)."""
    interrupt(scaffold_request(state))
    has_molecule, has_pytest = await asyncio.to_thread(
        probe_tests, Path(state["worktree_role_path"]))
    await runtime.context.audit("workflow.scaffold_tests", role=state["role_name"],
                                molecule=has_molecule, pytest=has_pytest)
    return {"has_molecule_tests": has_molecule, "has_pytest_tests": has_pytest,
            "untested": not (has_molecule or has_pytest), "scaffold_asked": True}

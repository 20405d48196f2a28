"""A role tree that is an Ansible collection, boxed up for real: its own fully-qualified
names resolve in the syntax check and in the role's pytest suite (the collection is on
ANSIBLE_COLLECTIONS_PATH), requirements.yml is installed from a local source into the
harness-managed path, and a collection nobody installed is an environment error naming
the collection and the command that installs it, not "fix the role's syntax"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dag_harness_mcp.config import Settings
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.roles import sync_roles
from dag_harness_mcp.service.runs import Runner
from support.collection_repo import COLLECTION_ROLES, collection_repo

FAST_PYTEST = ["env", "PYTEST_DISABLE_PLUGIN_AUTOLOAD=1", "{python}", "-m", "pytest", "-q",
               "-rA", "-p", "no:cacheprovider", "tests"]


@pytest.fixture
def collection_app(
    tmp_path: Path, settings_for: object, monkeypatch: pytest.MonkeyPatch
) -> Iterator[HarnessApp]:
    monkeypatch.delenv("ANSIBLE_COLLECTIONS_PATH", raising=False)
    repo = collection_repo(tmp_path)
    settings: Settings = settings_for(  # type: ignore[operator]
        repo, roles_path=COLLECTION_ROLES, forge="local", repair_rounds=0,
        tests={"pytest": FAST_PYTEST})
    app = HarnessApp.open(settings)
    sync_roles(app)
    yield app
    app.close()


async def test_the_collections_own_names_resolve_in_the_syntax_check_and_the_role_suite(
    collection_app: HarnessApp,
) -> None:
    async with Runner(collection_app) as runner:
        web = await runner.start("web", auto_approve=True)
        app = await runner.start("app", breakpoints=["create_commit"])
    assert web.status == "completed", web.errors
    assert web.summary["tests"][0]["status"] == "passed"
    assert (app.status, app.next_nodes) == ("paused", ["create_commit"]), app.errors
    state = runner.get(app.execution_id)["checkpoint_data"]["values"]
    link = Path(state["collections_path"].split(":")[0]) / "ansible_collections/acme/stack"
    assert link.resolve() == (Path(state["worktree_path"]) / "ansible_collections/acme/stack")


async def test_molecule_converges_a_role_calling_the_collections_own_module(
    collection_app: HarnessApp,
) -> None:
    async with Runner(collection_app) as runner:
        result = await runner.start("molecular", breakpoints=["create_commit"])
    assert (result.status, result.next_nodes) == ("paused", ["create_commit"]), result.errors
    runs = collection_app.db.tests.for_execution(result.execution_id)
    assert [(r["kind"], r["status"]) for r in runs] == [("molecule", "passed")]


async def test_a_collection_nobody_installed_is_an_environment_error_naming_the_command(
    collection_app: HarnessApp,
) -> None:
    async with Runner(collection_app) as runner:
        result = await runner.start("broken", auto_approve=True)
    assert result.status == "failed"
    message = " ".join(result.errors)
    assert "environment problem, not the role's" in message
    assert "nosuch.coll is not installed" in message
    assert "`ansible-galaxy collection install nosuch.coll`" in message
    assert "couldn't resolve module/action 'nosuch.coll.thing'" in message
    assert "fix the role's syntax" not in message
    assert result.summary["failed_node"] == "run_pytest"


async def test_the_syntax_check_of_a_role_without_tests_says_the_same_environment_error(
    collection_app: HarnessApp,
) -> None:
    async with Runner(collection_app) as runner:
        result = await runner.start("bare", auto_approve=True, allow_untested=True)
    assert (result.status, result.summary["failed_node"]) == ("failed", "validate_deploy")
    message = " ".join(result.errors)
    assert "so the syntax check of role 'bare' failed" in message
    assert "`ansible-galaxy collection install nosuch.coll`" in message
    assert "fix the role's syntax" not in message


async def test_requirements_from_a_local_source_are_installed_into_the_managed_path(
    collection_app: HarnessApp,
) -> None:
    async with Runner(collection_app) as runner:
        result = await runner.start("extra", auto_approve=True)
    assert result.status == "completed", result.errors
    managed = collection_app.settings.state_dir / "collections" / "installed"
    assert (managed / "ansible_collections/acme/extra/MANIFEST.json").is_file()
    assert any(n.startswith("installed the collections ansible_collections/acme/stack/"
                            "requirements.yml lists into") for n in result.notes)

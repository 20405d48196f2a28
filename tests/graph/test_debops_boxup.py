"""Real DebOps roles boxed up end to end on the local forge (real git, ansible, pytest):
``nscd`` calls the collection's own module ``debops.debops.dpkg_divert``; ``locales``
needs ``community.general`` (an environment error until it is installed, then it
passes); ``reboot`` has no tests (boxed up, marked untested, waits for a person).
The roles come from the debops 3.3.2 wheel, the community collections from the
ansible 12.3.0 wheel (tests/support/corpus.py; ./dev setup fetches both)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.roles import sync_roles
from dag_harness_mcp.service.runs import Runner
from support.collection_repo import DEBOPS_ROLES, debops_repo
from support.corpus import CorpusUnavailable, community_collections, required_in_ci

FAST_PYTEST = ["env", "PYTEST_DISABLE_PLUGIN_AUTOLOAD=1", "{python}", "-m", "pytest", "-q",
               "-rA", "-p", "no:cacheprovider", "tests"]
ROLES = ("nscd", "locales", "reboot", "ansible_plugins", "global_handlers")


@pytest.fixture(scope="session")
def community() -> Path:
    try:
        return community_collections()
    except CorpusUnavailable as exc:
        if required_in_ci():
            pytest.fail(f"community collections missing in CI: {exc}")
        pytest.skip(f"community collections unavailable: {exc}")


async def test_three_debops_roles_box_up_with_collections_resolved_and_flags_raised(
    tmp_path: Path, debops_collection: Path, community: Path, settings_for: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    nowhere = tmp_path / "no-collections"
    nowhere.mkdir()
    monkeypatch.setenv("ANSIBLE_COLLECTIONS_PATH", str(nowhere))  # no collections at all
    repo = debops_repo(tmp_path, debops_collection, ROLES, tested=("nscd", "locales"))
    settings = settings_for(  # type: ignore[operator]
        repo, roles_path=DEBOPS_ROLES, forge="local", repair_rounds=0,
        tests={"pytest": FAST_PYTEST})
    with HarnessApp.open(settings) as app:
        sync_roles(app)
        async with Runner(app) as runner:
            nscd = await runner.start("nscd", auto_approve=True, ignore_deps=True)
            missing = await runner.start("locales", auto_approve=True, ignore_deps=True)
            monkeypatch.setenv("ANSIBLE_COLLECTIONS_PATH", str(community))  # installed now
            locales = await runner.start("locales", auto_approve=True, ignore_deps=True)
            reboot = await runner.start("reboot", auto_approve=True)
            merged = await runner.resume(reboot.execution_id, approved=True, comment="read it")

    assert nscd.status == "completed", nscd.errors
    assert [(t["kind"], t["status"]) for t in nscd.summary["tests"]] == [("pytest", "passed")]
    assert nscd.untested is False

    # said at the start: what DebOps' galaxy.yml asks for that this machine lacks
    assert any(n.startswith("collection debops.debops depends on ") and "community.general"
               in n for n in nscd.notes)
    assert missing.status == "failed"
    message = " ".join(missing.errors)
    assert "environment problem, not the role's" in message
    assert "community.general is not installed" in message
    assert "`ansible-galaxy collection install community.general`" in message
    assert "fix the role's syntax" not in message

    assert locales.status == "completed", locales.errors
    assert locales.notes[0].startswith("branch box-up/locales ")

    assert (reboot.status, reboot.untested) == ("paused", True)
    assert reboot.interrupt is not None and "UNTESTED" in reboot.interrupt["question"]
    assert merged.status == "completed" and merged.untested is True

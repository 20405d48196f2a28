"""The memory service over a real StateDB: one HarnessStore per app, namespaces as labels or
dotted text, writes audited, bad input as harness errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dag_harness_mcp.config import load_settings
from dag_harness_mcp.errors import InvalidArgumentError, InvalidNameError
from dag_harness_mcp.service import memory
from dag_harness_mcp.service.app import HarnessApp


@pytest.fixture
def app(tmp_path: Path) -> Iterator[HarnessApp]:
    settings = load_settings({"repo_root": tmp_path, "db_path": tmp_path / "h.db"}, environ={})
    with HarnessApp.open(settings, actor="tester", source="test") as opened:
        yield opened


def test_the_app_keeps_one_store(app: HarnessApp) -> None:
    assert memory.harness_store(app) is memory.harness_store(app)


def test_dotted_and_listed_namespaces_name_the_same_items(app: HarnessApp) -> None:
    memory.store_put(app, ["roles", "common"], "k", {"v": 1})

    item = memory.store_get(app, "roles.common", "k")

    assert item is not None and item.namespace == ["roles", "common"]
    assert memory.store_list_namespaces(app, prefix="roles") == [["roles", "common"]]


def test_puts_and_deletes_are_audited_without_the_values(app: HarnessApp) -> None:
    memory.store_put(app, ["n"], "k", {"secret_field": "do-not-log"}, ttl_minutes=5)
    existed = memory.store_delete(app, ["n"], "k")

    rows = app.db.audit.list(limit=10)
    assert existed is True and memory.store_get(app, ["n"], "k") is None
    assert [r["action"] for r in rows] == ["store_delete", "store_put"]
    assert all(r["actor"] == "tester" for r in rows)
    assert "do-not-log" not in str(rows)


@pytest.mark.parametrize(("call", "error"), [
    (lambda a: memory.store_get(a, ["a.b"], "k"), InvalidNameError),
    (lambda a: memory.store_get(a, [], "k"), InvalidNameError),
    (lambda a: memory.store_get(a, ["a"], ""), InvalidNameError),
    (lambda a: memory.store_put(a, ["a"], "k", {"v": 1}, ttl_minutes=0), InvalidArgumentError),
    (lambda a: memory.store_search(a, ["a"], limit=0), InvalidArgumentError),
    (lambda a: memory.store_list_namespaces(a, max_depth=0), InvalidArgumentError),
])
def test_bad_namespaces_keys_and_paging_are_refused(
    app: HarnessApp, call: object, error: type[Exception]
) -> None:
    with pytest.raises(error):
        call(app)  # type: ignore[operator]

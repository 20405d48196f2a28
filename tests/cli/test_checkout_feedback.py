"""The user's checkout around box-ups: what sync says a repository lacks, the edits a
box-up leaves out, the default branch after a local merge. Real git, the real graph."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.boxup_repo import BoxUpRepo
from support.cli import harness, harness_json
from support.gitsh import git


def _plain_tree(root: Path) -> Path:
    (root / "ansible" / "roles" / "web" / "tasks").mkdir(parents=True)
    (root / "ansible" / "roles" / "web" / "tasks" / "main.yml").write_text("- debug: {}\n")
    return root


def test_sync_outside_git_warns_and_box_up_says_what_is_needed_and_starts_nothing(
    tmp_path: Path,
) -> None:
    root = _plain_tree(tmp_path / "plain")
    args = ["--repo", str(root), "--db", str(tmp_path / "h.db")]

    synced = harness([*args, "sync"])
    assert synced.exit_code == 0
    said = " ".join(synced.stderr.split())
    assert "warning: not a git repository" in said
    assert "git init -b main" in said and "git remote add origin URL" in said
    assert harness_json([*args, "sync", "--json"])["warnings"][0].startswith(
        "not a git repository")
    refused = harness([*args, "box-up-role", "web"])
    assert refused.exit_code == 2
    assert "cannot box up 'web': not a git repository" in " ".join(refused.stderr.split())
    assert harness_json([*args, "executions", "--json"]) == []


def test_sync_names_what_a_git_repository_still_lacks(tmp_path: Path) -> None:
    root = _plain_tree(tmp_path / "repo")
    git(root, "init", "--quiet", "-b", "main")
    args = ["--repo", str(root), "--db", str(tmp_path / "h.db")]
    warnings = harness_json([*args, "sync", "--json"])["warnings"]
    assert any("branch 'main' has no commit" in w for w in warnings)
    assert any("no remote 'origin'" in w for w in warnings)


def test_box_up_warns_about_edits_of_the_role_it_leaves_out(
    synced: tuple[BoxUpRepo, list[str]],
) -> None:
    repo, args = synced
    role = repo.root / "ansible" / "roles" / "db"
    (role / "tasks" / "main.yml").write_text("- name: edited\n  ansible.builtin.debug: {}\n")
    (role / "tasks" / "extra.yml").write_text("[]\n")
    (repo.root / "README.txt").write_text("not the role's\n")

    shown = harness([*args, "box-up-role", "db", "--breakpoints", "create_commit"])

    assert shown.exit_code == 0, shown.output
    said = " ".join(shown.stdout.split())
    assert "warning: db has 2 uncommitted change(s) this box-up leaves out" in said
    assert "M tasks/main.yml" in said and "?? tasks/extra.yml" in said
    assert "README" not in said
    result = harness_json([*args, "resume", "1", "--reject", "--json"], exit_code=1)
    assert result["status"] == "rejected"


def test_after_a_local_merge_a_clean_checkout_main_is_fast_forwarded(
    synced: tuple[BoxUpRepo, list[str]],
) -> None:
    repo, args = synced
    before = git(repo.root, "rev-parse", "main")

    done = harness_json([*args, "box-up-role", "db", "--auto-approve", "--json"])

    assert done["status"] == "completed", done
    assert git(repo.root, "rev-parse", "main") == git(repo.origin, "rev-parse", "main") != before
    assert any(n.startswith("your main was fast-forwarded to origin/main") for n in done["notes"])
    assert git(repo.root, "status", "--porcelain", "--untracked-files=no") == ""


def test_after_a_local_merge_a_checkout_with_edits_is_left_alone_with_a_pull_hint(
    synced: tuple[BoxUpRepo, list[str]],
) -> None:
    repo, args = synced
    before = git(repo.root, "rev-parse", "main")
    (repo.root / "harness.yml").write_text(
        (repo.root / "harness.yml").read_text() + "# my edit\n", encoding="utf-8")

    done = harness([*args, "box-up-role", "db", "--auto-approve"])

    assert done.exit_code == 0, done.output
    assert git(repo.root, "rev-parse", "main") == before
    assert "# my edit" in (repo.root / "harness.yml").read_text()
    said = " ".join(done.stdout.split())
    assert "warning: your main is behind origin/main by" in said
    assert "it has uncommitted changes; run `git pull origin main` when ready" in said


def test_the_roles_path_of_the_last_sync_is_remembered_until_something_names_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "repo"
    for name in ("web", "db"):
        (root / "roles" / name / "tasks").mkdir(parents=True)
        (root / "roles" / name / "tasks" / "main.yml").write_text("- debug: {}\n")
    (root / "other" / "solo" / "tasks").mkdir(parents=True)
    (root / "other" / "solo" / "tasks" / "main.yml").write_text("- debug: {}\n")
    args = ["--repo", str(root), "--db", str(tmp_path / "h.db")]

    first = harness_json([*args, "--roles-path", "roles", "sync", "--json"])
    assert first["total"] == 2

    listed = harness_json([*args, "list-roles", "--json"])
    assert sorted(r["name"] for r in listed) == ["db", "web"]
    assert harness([*args, "deps", "web"]).exit_code == 0
    again = harness_json([*args, "sync", "--json"])
    assert (again["total"], again["removed"], again["unchanged"]) == (2, 0, 2)
    # The environment, then harness.yml, name another roles path: they win (and are remembered).
    monkeypatch.setenv("HARNESS_ROLES_PATH", "other")
    assert harness_json([*args, "sync", "--json"])["total"] == 1
    monkeypatch.delenv("HARNESS_ROLES_PATH")
    (root / "harness.yml").write_text("roles_path: roles\n")
    assert harness_json([*args, "sync", "--json"])["total"] == 2
    (root / "harness.yml").unlink()
    assert [r["name"] for r in harness_json([*args, "list-roles", "--json"])] == ["db", "web"]


def test_after_a_wave_run_merges_locally_a_clean_checkout_main_is_fast_forwarded(
    synced: tuple[BoxUpRepo, list[str]],
) -> None:
    repo, args = synced
    before = git(repo.root, "rev-parse", "main")

    run = harness([*args, "run-waves", "--to", "0", "--auto-approve"])

    assert run.exit_code == 0, run.output
    assert git(repo.root, "rev-parse", "main") == git(repo.origin, "rev-parse", "main") != before
    assert "your main was fast-forwarded to origin/main" in " ".join(run.stderr.split())

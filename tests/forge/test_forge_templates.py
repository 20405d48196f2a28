"""Issue and MR titles and Markdown descriptions rendered from the package templates."""

from __future__ import annotations

from dag_harness_mcp.forge.templates import (
    DescriptionContext,
    link_mr_in_issue_description,
    render_issue_description,
    render_issue_title,
    render_mr_description,
    render_mr_title,
)

CTX = DescriptionContext(
    role="web",
    wave=2,
    dependencies=["common", "nginx"],
    dependants=["app"],
    tests=[
        {"kind": "molecule", "status": "passed", "passed": 3, "failed": 0, "skipped": 1,
         "duration_ms": 4210},
        {"kind": "pytest", "status": "failed", "passed": 5, "failed": 1, "skipped": 0,
         "duration_ms": 800},
    ],
    regressions=["tests/test_web.py::test_port"],
    issue_url="https://gl/g/p/-/issues/4",
    mr_url="https://gl/g/p/-/merge_requests/9",
    execution_id=12,
)


def test_titles_depend_only_on_the_role() -> None:
    assert render_issue_title("web") == "Box up Ansible role: web"
    assert render_mr_title("web") == "box-up: web"
    assert render_issue_title("web") != render_issue_title("db")


def test_issue_description_lists_everything_and_links_the_mr() -> None:
    text = render_issue_description(CTX)
    assert "| Wave | 2 |" in text and "| Execution | #12 |" in text
    assert "- `common`\n- `nginx`" in text and "- `app`" in text
    assert "| molecule | passed | 3 | 0 | 1 | 4.2 s |" in text
    assert "| pytest | failed | 5 | 1 | 0 | 0.8 s |" in text
    assert "- `tests/test_web.py::test_port`" in text
    assert "https://gl/g/p/-/merge_requests/9" in text


def test_mr_description_closes_and_links_the_issue() -> None:
    text = render_mr_description(CTX)
    assert "Closes https://gl/g/p/-/issues/4" in text
    assert "| Issue | https://gl/g/p/-/issues/4 |" in text


def test_unknown_parts_render_as_placeholders_not_blanks() -> None:
    bare = DescriptionContext(role="db")
    issue, mr = render_issue_description(bare), render_mr_description(bare)
    assert "| Wave | unassigned |" in issue and "_not opened yet_" in issue
    assert "_No tests ran._" in issue and "_none detected_" in issue
    assert "Closes" not in mr and "| Issue | _none_ |" in mr


def test_table_cells_cannot_break_the_markdown_table() -> None:
    ctx = DescriptionContext(role="x", tests=[{"kind": "a|b", "status": "x\ny"}])
    assert "| a\\|b | x y |" in render_issue_description(ctx)


def test_linking_the_mr_fills_the_pending_row_once() -> None:
    issue = render_issue_description(DescriptionContext(role="db"))
    linked = link_mr_in_issue_description(issue, "https://gl/g/p/-/merge_requests/3")
    assert "| Merge request | https://gl/g/p/-/merge_requests/3 |" in linked
    assert "_not opened yet_" not in linked
    assert link_mr_in_issue_description(linked, "https://other/1") == linked
    assert link_mr_in_issue_description("hand-written", "u") == "hand-written"

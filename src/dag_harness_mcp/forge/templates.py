"""Issue and merge-request titles and Markdown descriptions.

Titles are dedupe keys (the forge finds an existing issue by exact title), so they
depend on the role name only. Descriptions carry the wave, dependencies and
dependants, test results, regressions and a link to the issue/MR partner.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from string import Template
from typing import Any

__all__ = ["DEDUPE_MARKER", "DescriptionContext", "link_mr_in_issue_description",
           "render_issue_description", "render_issue_title", "render_mr_description",
           "render_mr_title"]

# Every rendered description carries this marker: the forge recognises its own objects.
DEDUPE_MARKER = "<!-- dag-harness: role="
_MR_ROW_PENDING = "| Merge request | _not opened yet_ |"
_UNTESTED = (
    "**Untested:** this role has no molecule scenario and no pytest suite; only "
    "`ansible-playbook --syntax-check` ran. Review it by hand.\n\n"
)
_BODY = Template(f"""\
## Box up role `$role`

$closes| | |
|---|---|
| Wave | $wave |
| Execution | $execution |
| $partner |

### Dependencies
$dependencies

### Dependants
$dependants

### Test results
$untested$tests

### Regressions
$regressions

{DEDUPE_MARKER}$role -->
""")


@dataclass(frozen=True)
class DescriptionContext:
    """What a description says about one role's box-up."""

    role: str
    wave: int | None = None
    dependencies: Sequence[str] = ()
    dependants: Sequence[str] = ()
    tests: Sequence[Mapping[str, Any]] = field(default_factory=list)
    regressions: Sequence[str] = ()
    issue_url: str | None = None
    mr_url: str | None = None
    execution_id: int | None = None
    untested: bool = False


def _bullets(items: Sequence[str], empty: str) -> str:
    return "\n".join(f"- `{item}`" for item in items) if items else f"_{empty}_"


def _cell(value: object) -> str:
    return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")


def _tests_table(tests: Sequence[Mapping[str, Any]]) -> str:
    if not tests:
        return "_No tests ran._"
    lines = ["| Kind | Status | Passed | Failed | Skipped | Duration |",
             "|---|---|---:|---:|---:|---:|"]
    for test in tests:
        ms = test.get("duration_ms")
        cells = [test.get(k) for k in ("kind", "status", "passed", "failed", "skipped")]
        cells.append(None if ms is None else f"{float(ms) / 1000:.1f} s")
        lines.append("| " + " | ".join(_cell(v) for v in cells) + " |")
    return "\n".join(lines)


def _render(ctx: DescriptionContext, partner: str, closes: str = "") -> str:
    return _BODY.substitute(
        role=ctx.role, partner=partner, closes=closes,
        wave="unassigned" if ctx.wave is None else str(ctx.wave),
        execution="-" if ctx.execution_id is None else f"#{ctx.execution_id}",
        dependencies=_bullets(ctx.dependencies, "none"),
        dependants=_bullets(ctx.dependants, "none"),
        tests=_tests_table(ctx.tests),
        untested=_UNTESTED if ctx.untested else "",
        regressions=_bullets(ctx.regressions, "none detected"),
    )


def render_issue_title(role: str) -> str:
    return f"Box up Ansible role: {role}"


def render_mr_title(role: str) -> str:
    return f"box-up: {role}"


def render_issue_description(ctx: DescriptionContext) -> str:
    return _render(ctx, f"Merge request | {ctx.mr_url or '_not opened yet_'}")


def render_mr_description(ctx: DescriptionContext) -> str:
    closes = f"Closes {ctx.issue_url}\n\n" if ctx.issue_url else ""
    return _render(ctx, f"Issue | {ctx.issue_url or '_none_'}", closes)


def link_mr_in_issue_description(description: str, mr_url: str) -> str:
    """``description`` with its pending merge-request row pointing at ``mr_url``; unchanged
    when the row links an MR already or the description is not ours (idempotent)."""
    return description.replace(_MR_ROW_PENDING, f"| Merge request | {_cell(mr_url)} |", 1)

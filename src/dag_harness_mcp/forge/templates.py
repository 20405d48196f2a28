"""Issue and merge-request titles and descriptions (Markdown), rendered from templates.

Titles are dedupe keys (the forge finds an existing issue by exact title), so
they depend on the role name only. Descriptions carry the wave, dependencies
and dependants, test results, regressions and a link to the issue/MR partner.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from string import Template
from typing import Any

__all__ = [
    "DEDUPE_MARKER",
    "DescriptionContext",
    "link_mr_in_issue_description",
    "render_issue_description",
    "render_issue_title",
    "render_mr_description",
    "render_mr_title",
]

# Every rendered description carries this marker: the forge recognises its own objects.
DEDUPE_MARKER = "<!-- dag-harness: role="

ISSUE_TITLE = Template("Box up Ansible role: $role")
MR_TITLE = Template("box-up: $role")

ISSUE_BODY = Template(
    """\
## Box up role `$role`

| | |
|---|---|
| Wave | $wave |
| Execution | $execution |
| Merge request | $mr_link |

### Dependencies
$dependencies

### Dependants
$dependants

### Test results
$untested$tests

### Regressions
$regressions

<!-- dag-harness: role=$role -->
"""
)

MR_BODY = Template(
    """\
## Box up role `$role`

$closes

| | |
|---|---|
| Wave | $wave |
| Execution | $execution |
| Issue | $issue_link |

### Dependencies
$dependencies

### Dependants
$dependants

### Test results
$untested$tests

### Regressions
$regressions

<!-- dag-harness: role=$role -->
"""
)


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


UNTESTED_WARNING = (
    "**Untested:** this role has no molecule scenario and no pytest suite; only "
    "`ansible-playbook --syntax-check` ran. Review it by hand.\n\n"
)


def _bullets(items: Sequence[str], empty: str) -> str:
    if not items:
        return f"_{empty}_"
    return "\n".join(f"- `{item}`" for item in items)


def _cell(value: object) -> str:
    return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")


def _tests_table(tests: Sequence[Mapping[str, Any]]) -> str:
    if not tests:
        return "_No tests ran._"
    lines = [
        "| Kind | Status | Passed | Failed | Skipped | Duration |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for test in tests:
        duration = test.get("duration_ms")
        shown = "" if duration is None else f"{float(duration) / 1000:.1f} s"
        lines.append(
            "| "
            + " | ".join(
                _cell(v)
                for v in (
                    test.get("kind"), test.get("status"), test.get("passed"),
                    test.get("failed"), test.get("skipped"), shown,
                )
            )
            + " |"
        )
    return "\n".join(lines)


def _link(url: str | None, fallback: str) -> str:
    return url if url else f"_{fallback}_"


def _common(ctx: DescriptionContext) -> dict[str, str]:
    return {
        "role": ctx.role,
        "wave": "unassigned" if ctx.wave is None else str(ctx.wave),
        "execution": "-" if ctx.execution_id is None else f"#{ctx.execution_id}",
        "dependencies": _bullets(ctx.dependencies, "none"),
        "dependants": _bullets(ctx.dependants, "none"),
        "tests": _tests_table(ctx.tests),
        "untested": UNTESTED_WARNING if ctx.untested else "",
        "regressions": _bullets(ctx.regressions, "none detected"),
    }


def render_issue_title(role: str) -> str:
    return ISSUE_TITLE.substitute(role=role)


def render_mr_title(role: str) -> str:
    return MR_TITLE.substitute(role=role)


def render_issue_description(ctx: DescriptionContext) -> str:
    return ISSUE_BODY.substitute(
        _common(ctx), mr_link=_link(ctx.mr_url, "not opened yet")
    )


def render_mr_description(ctx: DescriptionContext) -> str:
    closes = f"Closes {ctx.issue_url}" if ctx.issue_url else ""
    return MR_BODY.substitute(
        _common(ctx), issue_link=_link(ctx.issue_url, "none"), closes=closes
    )


_MR_ROW_PENDING = "| Merge request | _not opened yet_ |"


def link_mr_in_issue_description(description: str, mr_url: str) -> str:
    """``description`` with its pending merge-request row pointing at ``mr_url``.

    Unchanged when the row already links an MR (or the description was not
    rendered from the template): linking is idempotent.
    """
    return description.replace(_MR_ROW_PENDING, f"| Merge request | {_cell(mr_url)} |", 1)

"""Turn test output into counts and per-test outcomes.

pytest writes JUnit XML (``--junitxml``), which gives every test's exact
outcome; without it the ``-rA`` short summary lines are read. Molecule's steps
(converge, idempotence, verify, ...) count as its tests, read from its
``<scenario> ➜ <step>: Executed: <State>`` lines (``>`` without colours).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "TestCaseResult",
    "TestSummary",
    "parse_junit_xml",
    "parse_molecule_output",
    "parse_pytest_summary",
    "summarize",
]

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
# ``default ➜ verify: Executed: Successful`` (colour terminals), ``default > verify:
# Executed: ...`` (NO_COLOR, as the test nodes run it) and ``[default > verify] Executed: ...``.
_MOLECULE_STEP = re.compile(
    r"(?P<scenario>[\w.\-]+)\s+(?:➜|>)\s+(?P<step>[\w\-]+)(?::|\])\s+Executed:\s+(?P<state>\w+)"
)
_MOLECULE_STATES = {
    "successful": "passed",
    "failed": "failed",
    "partial": "failed",
    "skipped": "skipped",
    "disabled": "skipped",
    "missing": "skipped",
}
_PYTEST_LINE = re.compile(
    r"^(?P<outcome>PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)\s+(?P<name>\S+)", re.M
)
_PYTEST_OUTCOMES = {
    "PASSED": "passed", "XPASS": "passed", "FAILED": "failed",
    "ERROR": "error", "SKIPPED": "skipped", "XFAIL": "skipped",
}


@dataclass(frozen=True)
class TestCaseResult:
    """One test: ``outcome`` is passed, failed, skipped or error."""

    __test__ = False  # not a pytest test class

    name: str
    outcome: str
    duration_ms: float | None = None


@dataclass
class TestSummary:
    """Counts over a run's tests (errors count as failed)."""

    __test__ = False

    passed: int = 0
    failed: int = 0
    skipped: int = 0
    cases: list[TestCaseResult] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarize(cases: list[TestCaseResult]) -> TestSummary:
    summary = TestSummary(cases=cases)
    for case in cases:
        if case.outcome == "passed":
            summary.passed += 1
        elif case.outcome == "skipped":
            summary.skipped += 1
        else:
            summary.failed += 1
    return summary


def parse_junit_xml(path: Path) -> list[TestCaseResult]:
    """Every ``<testcase>`` of a JUnit XML file; a missing or broken file gives none."""
    try:
        root = ET.parse(path).getroot()  # a file our own pytest child wrote
    except (OSError, ET.ParseError):
        return []
    cases: dict[str, TestCaseResult] = {}
    for case in root.iter("testcase"):
        classname = case.get("classname", "")
        name = case.get("name", "")
        full = f"{classname}::{name}" if classname else name
        if case.find("error") is not None:
            outcome = "error"
        elif case.find("failure") is not None:
            outcome = "failed"
        elif case.find("skipped") is not None:
            outcome = "skipped"
        else:
            outcome = "passed"
        try:
            duration: float | None = float(case.get("time", "")) * 1000
        except ValueError:
            duration = None
        previous = cases.get(full)
        # A test that errors in teardown after passing appears twice; the worse outcome wins.
        if previous is None or previous.outcome in ("passed", "skipped"):
            cases[full] = TestCaseResult(full, outcome, duration)
    return list(cases.values())


def parse_pytest_summary(output: str) -> list[TestCaseResult]:
    """Outcomes from pytest's ``-rA`` short summary (when no JUnit XML is available)."""
    cases: dict[str, TestCaseResult] = {}
    for match in _PYTEST_LINE.finditer(_ANSI.sub("", output)):
        name = match["name"]
        cases.setdefault(name, TestCaseResult(name, _PYTEST_OUTCOMES[match["outcome"]]))
    return list(cases.values())


def parse_molecule_output(output: str) -> list[TestCaseResult]:
    """Molecule's steps as tests, named ``<scenario>:<step>`` (the last report of a step wins)."""
    cases: dict[str, TestCaseResult] = {}
    for line in _ANSI.sub("", output).splitlines():
        match = _MOLECULE_STEP.search(line)
        if match is None:
            continue
        outcome = _MOLECULE_STATES.get(match["state"].lower(), "failed")
        name = f"{match['scenario']}:{match['step']}"
        cases[name] = TestCaseResult(name, outcome)
    return list(cases.values())

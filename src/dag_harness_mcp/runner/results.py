"""Test output as counts and per-case outcomes: pytest's JUnit XML (else its ``-rA``
summary lines) and molecule's ``<scenario> ➜ <step>: Executed: <State>`` step reports."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ANSI", "MOLECULE_STEP", "CaseResult", "CaseSummary", "parse_junit_xml",
           "parse_molecule_output", "parse_pytest_summary", "summarize"]

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
# ``default ➜ verify: Executed: Successful`` (colours), ``default > verify: Executed: ...``
# (NO_COLOR, as the test nodes run it) and ``[default > verify] Executed: ...``.
MOLECULE_STEP = re.compile(
    r"(?P<scenario>[\w.\-]+)\s+(?:➜|>)\s+(?P<step>[\w\-]+)(?::|\])\s+Executed:\s+(?P<state>\w+)")
_MOLECULE_STATES = {"successful": "passed", "failed": "failed", "partial": "failed",
                    "skipped": "skipped", "disabled": "skipped", "missing": "skipped"}
_PYTEST_LINE = re.compile(
    r"^(?P<outcome>PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)\s+(?P<name>\S+)", re.M)
_PYTEST_OUTCOMES = {"PASSED": "passed", "XPASS": "passed", "FAILED": "failed",
                    "ERROR": "error", "SKIPPED": "skipped", "XFAIL": "skipped"}


@dataclass(frozen=True)
class CaseResult:
    """One test case: ``outcome`` is passed, failed, skipped or error."""

    name: str
    outcome: str
    duration_ms: float | None = None


@dataclass(frozen=True)
class CaseSummary:
    """Counts over a run's cases (errors count as failed)."""

    passed: int
    failed: int
    skipped: int


def summarize(cases: list[CaseResult]) -> CaseSummary:
    counts = Counter(case.outcome for case in cases)
    passed, skipped = counts["passed"], counts["skipped"]
    return CaseSummary(passed, len(cases) - passed - skipped, skipped)


def parse_junit_xml(path: Path) -> list[CaseResult]:
    """Every ``<testcase>`` of a JUnit XML file; a missing or broken file gives none."""
    try:
        root = ET.parse(path).getroot()  # a file our own pytest child wrote
    except (OSError, ET.ParseError):
        return []
    cases: dict[str, CaseResult] = {}
    for case in root.iter("testcase"):
        classname, name = case.get("classname", ""), case.get("name", "")
        full = f"{classname}::{name}" if classname else name
        outcome = next((o for tag, o in (("error", "error"), ("failure", "failed"),
                                         ("skipped", "skipped")) if case.find(tag) is not None),
                       "passed")
        try:
            duration: float | None = float(case.get("time", "")) * 1000
        except ValueError:
            duration = None
        previous = cases.get(full)
        # A test that errors in teardown after passing appears twice; the worse outcome wins.
        if previous is None or previous.outcome in ("passed", "skipped"):
            cases[full] = CaseResult(full, outcome, duration)
    return list(cases.values())


def parse_pytest_summary(output: str) -> list[CaseResult]:
    """Outcomes from pytest's ``-rA`` short summary (when no JUnit XML is available)."""
    cases: dict[str, CaseResult] = {}
    for match in _PYTEST_LINE.finditer(ANSI.sub("", output)):
        cases.setdefault(match["name"],
                         CaseResult(match["name"], _PYTEST_OUTCOMES[match["outcome"]]))
    return list(cases.values())


def parse_molecule_output(output: str) -> list[CaseResult]:
    """Molecule's steps as cases named ``<scenario>:<step>`` (the last report of a step wins)."""
    cases: dict[str, CaseResult] = {}
    for match in map(MOLECULE_STEP.search, ANSI.sub("", output).splitlines()):
        if match is not None:
            name = f"{match['scenario']}:{match['step']}"
            cases[name] = CaseResult(name, _MOLECULE_STATES.get(match["state"].lower(), "failed"))
    return list(cases.values())

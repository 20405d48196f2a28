"""Parsing real pytest JUnit XML and molecule step reports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from dag_harness_mcp.runner.results import (
    CaseResult,
    parse_junit_xml,
    parse_molecule_output,
    parse_pytest_summary,
    summarize,
)

MOLECULE_OUTPUT = """\
\x1b[36mINFO    \x1b[0m \x1b[32mdefault\x1b[0m ➜ \x1b[33mconverge\x1b[0m: \x1b[36mExecuting\x1b[0m
\x1b[36mINFO    \x1b[0m \x1b[32mdefault\x1b[0m ➜ \x1b[33mconverge\x1b[0m: \
\x1b[32mExecuted: Successful\x1b[0m
INFO     default ➜ idempotence: Executed: Failed
DETAILS
default ➜ converge: Executed: Successful
default ➜ idempotence: Executed: Failed
default ➜ verify: Executed: Skipped
"""


def test_molecule_steps_become_tests_named_by_scenario_and_step() -> None:
    cases = parse_molecule_output(MOLECULE_OUTPUT)
    assert {c.name: c.outcome for c in cases} == {
        "default:converge": "passed",
        "default:idempotence": "failed",
        "default:verify": "skipped",
    }
    summary = summarize(cases)
    assert (summary.passed, summary.failed, summary.skipped) == (1, 1, 1)


# molecule 26 with NO_COLOR=1 (how the test nodes run it), captured from a real run
MOLECULE_NO_COLOR = """\
INFO     [default > discovery] scenario test matrix: converge, idempotence, verify
INFO     [default > converge] Executing
INFO     [default > converge] Executed: Successful
INFO     [default > idempotence] Executed: Successful
INFO     [default > verify] Executed: Failed
INFO     Molecule executed 1 scenario (1 failed)

DETAILS
default > converge: Executed: Successful
default > idempotence: Executed: Successful
default > verify: Executed: Failed

SCENARIO RECAP
default                   : actions=3  successful=2  disabled=0  skipped=0  missing=0  failed=1
"""


def test_molecule_steps_are_read_from_plain_ascii_output() -> None:
    cases = parse_molecule_output(MOLECULE_NO_COLOR)
    assert {c.name: c.outcome for c in cases} == {
        "default:converge": "passed",
        "default:idempotence": "passed",
        "default:verify": "failed",
    }


def test_molecule_output_without_step_reports_gives_no_tests() -> None:
    assert parse_molecule_output("CRITICAL Failed to find driver\n") == []


def test_junit_xml_from_a_real_pytest_run_gives_every_outcome(tmp_path: Path) -> None:
    (tmp_path / "test_sample.py").write_text(
        "import pytest\n"
        "def test_ok():\n    assert True\n"
        "def test_bad():\n    assert 1 == 2\n"
        "@pytest.mark.skip(reason='no')\ndef test_skipped():\n    pass\n"
        "@pytest.fixture\ndef broken():\n    raise RuntimeError('setup')\n"
        "def test_error(broken):\n    pass\n"
    )
    xml = tmp_path / "out.xml"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider",
         f"--junitxml={xml}", "test_sample.py"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 1
    outcomes = {c.name: c.outcome for c in parse_junit_xml(xml)}
    assert outcomes == {
        "test_sample::test_ok": "passed",
        "test_sample::test_bad": "failed",
        "test_sample::test_skipped": "skipped",
        "test_sample::test_error": "error",
    }
    summary_outcomes = {c.name: c.outcome for c in parse_pytest_summary(proc.stdout)}
    assert summary_outcomes["test_sample.py::test_ok"] == "passed"
    assert summary_outcomes["test_sample.py::test_bad"] == "failed"


def test_a_missing_junit_file_gives_no_tests(tmp_path: Path) -> None:
    assert parse_junit_xml(tmp_path / "absent.xml") == []


def test_errors_count_as_failures_in_a_summary() -> None:
    summary = summarize([CaseResult("a", "error"), CaseResult("b", "passed")])
    assert (summary.passed, summary.failed, summary.skipped) == (1, 1, 0)

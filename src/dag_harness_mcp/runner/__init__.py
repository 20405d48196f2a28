"""Subprocesses for the test nodes: async, bounded, cancellable; and their result parsers."""

from dag_harness_mcp.runner.process import ProcessResult, run_process, tool_env
from dag_harness_mcp.runner.results import (
    TestCaseResult,
    TestSummary,
    parse_junit_xml,
    parse_molecule_output,
)

__all__ = [
    "ProcessResult",
    "TestCaseResult",
    "TestSummary",
    "parse_junit_xml",
    "parse_molecule_output",
    "run_process",
    "tool_env",
]

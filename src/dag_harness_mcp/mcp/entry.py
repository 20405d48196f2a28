"""The ``dag-harness-mcp`` console script. Importing the server takes about half a second; a
client giving up meanwhile (SIGINT, SIGTERM) must see exit code 0 and a quiet stderr, so
the signal handlers go in before anything heavy is imported."""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

__all__ = ["HELP", "main"]

HELP = """\
usage: dag-harness-mcp [--help] [--version]

The dag-harness MCP server: box up Ansible roles from an MCP client (Claude Code).
It speaks JSON-RPC over stdin/stdout and is started by the client, not by hand:
  the plugin:  claude plugin install dag-harness@dag-harness (see the README)
  a project:   harness install --project DIR   (writes DIR/.mcp.json)
  by hand:     claude mcp add dag-harness -- dag-harness-mcp
Settings come from the environment (HARNESS_REPO_ROOT, HARNESS_DB_PATH, GITLAB_TOKEN, ...)
and harness.yml in the repository; `harness --help` is the command line for people.

options:
  --help     show this message and exit
  --version  print the version and exit
"""


def _exit_quietly(signum: int, frame: FrameType | None) -> None:
    os._exit(0)


def _answer_arguments(args: list[str]) -> None:
    """``--help`` and ``--version`` answer and exit; anything else is refused (exit 2)."""
    from dag_harness_mcp import __version__

    if args[0] in ("-h", "--help"):
        sys.stdout.write(HELP)
    elif args[0] in ("-V", "--version"):
        sys.stdout.write(f"dag-harness-mcp {__version__}\n")
    else:
        sys.stderr.write(f"dag-harness-mcp: unknown argument {args[0]!r} (your input); "
                         "the server takes no arguments: see `dag-harness-mcp --help`\n")
        sys.exit(2)
    sys.exit(0)


def main() -> None:
    if sys.argv[1:]:
        _answer_arguments(sys.argv[1:])
    if sys.stdin.isatty():
        sys.stderr.write("dag-harness-mcp: the dag-harness MCP server, waiting for JSON-RPC "
                         "on stdin. An MCP client (Claude Code) starts it; `dag-harness-mcp "
                         "--help` says how. Ctrl-C or Ctrl-D ends it.\n")
        sys.stderr.flush()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _exit_quietly)
    from dag_harness_mcp.mcp.server import main as serve

    serve()

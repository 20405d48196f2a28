"""The ``dag-harness-mcp`` console script: quiet signals before anything heavy is imported.

Importing the server pulls in the mcp SDK and pydantic (about half a second). A client
that gives up during that time (Claude Code sends SIGINT, then SIGTERM) must see the
process end with code 0 and nothing on stderr, so the handlers go in first; the
server replaces them with its own once it serves.
"""

from __future__ import annotations

import os
import signal
from types import FrameType

__all__ = ["main"]


def _exit_quietly(signum: int, frame: FrameType | None) -> None:
    os._exit(0)


def main() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _exit_quietly)
    from dag_harness_mcp.mcp.server import main as serve

    serve()

"""Claude Code hooks: record sessions, tool calls, file changes and token costs; enforce
capability contexts on PreToolUse. Standard library only, run as ``python3 -S``."""

__all__: list[str] = []

"""Capability decisions for one tool call against the active execution contexts.

Pure functions over plain data. With no active context every call is allowed.
With contexts, a call is allowed when at least one context allows it:

- ``Write``/``Edit``/``MultiEdit``/``NotebookEdit``: the resolved path (symlinks
  followed) must match a ``file_write`` glob (``*`` within a directory, ``**``
  across directories; a pattern without wildcards covers that path and below).
- ``Bash``: the command is parsed into argv lists; the built-in denials (force
  pushes, pushes to the default branch, ``rm -r /``-likes, ``find / -delete``...)
  always apply; no simple command may match a ``bash_deny`` pattern; every one must
  match a ``bash_allow`` pattern (``*`` allows all); files it visibly writes must
  match ``file_write``; ``git push`` and mutating ``glab``/GitLab API calls also
  need ``gitlab_write``. An unparsable command is refused.
- ``mcp__*`` tools: the name must match an ``mcp_tool`` pattern (a glob, or a
  regular expression written ``re:<regex>``); GitLab-writing tools of this plugin
  also need ``gitlab_write``.
- Every other tool (Read, Grep, Glob, WebFetch, Task, ...) is allowed.
"""

from __future__ import annotations

import os
import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dag_harness_mcp.hooks import bash

__all__ = ["FILE_TOOLS", "GITLAB_WRITE_TOOLS", "Decision", "decide", "gitlab_write", "glob_match",
           "target_path"]

FILE_TOOLS = {"Write": "file_path", "Edit": "file_path", "MultiEdit": "file_path",
              "NotebookEdit": "notebook_path"}
# MCP tools of this plugin that write to GitLab (issue, MR, merge train, approval).
GITLAB_WRITE_TOOLS = (
    r".*__(approve\w*|create_(issue|mr|merge_request)\w*|add_to_merge_train|merge\w*)\Z"
)
_GLAB_READ = {"list", "view", "status", "diff", "ls", "get", "check", "version", "help"}
_HOW = ("ask the user to grant it with `harness capabilities grant {flag} --session {sid}` "
        "or the grant_capabilities MCP tool")


class Decision:
    """``allow`` or ``deny`` with the reason; ``contexts`` names what was consulted."""

    __slots__ = ("allowed", "contexts", "reason")

    def __init__(self, allowed: bool, reason: str = "", contexts: list[int] | None = None) -> None:
        self.allowed = allowed
        self.reason = reason
        self.contexts = contexts or []


def glob_match(pattern: str, path: str) -> bool:
    """``path`` (absolute, normalised) against a ``file_write`` glob."""
    if not any(c in pattern for c in "*?["):
        base = pattern.rstrip("/") or "/"
        return path == base or path.startswith(base if base == "/" else base + "/")
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.fullmatch("".join(out), path) is not None


def _resolve_pattern(pattern: str, cwd: str) -> str:
    """Absolute pattern whose wildcard-free leading directories have symlinks resolved."""
    pattern = os.path.join(cwd, os.path.expanduser(pattern))
    parts = pattern.split("/")
    for i, part in enumerate(parts):
        if any(c in part for c in "*?["):
            head = os.path.realpath("/".join(parts[:i]) or "/")
            return head.rstrip("/") + "/" + "/".join(parts[i:])
    return os.path.realpath(pattern)


def target_path(path: str, cwd: str) -> str:
    return os.path.realpath(os.path.join(cwd, os.path.expanduser(path)))


def _patterns(ctx: dict[str, Any], capability: str) -> list[str]:
    return [p for c, p in ctx["capabilities"] if c == capability]


def _path_allowed(ctx: dict[str, Any], path: str, cwd: str) -> bool:
    return any(glob_match(_resolve_pattern(p, ctx.get("project_dir") or cwd), path)
               for p in _patterns(ctx, "file_write"))


def _mcp_allowed(pattern: str, tool: str) -> bool:
    from fnmatch import fnmatchcase

    if pattern.startswith("re:"):
        try:
            return re.fullmatch(pattern[3:], tool) is not None
        except re.error:
            return False
    return fnmatchcase(tool, pattern)


def gitlab_write(argv: list[str]) -> bool:
    """Whether ``argv`` writes to GitLab: ``git push``, mutating ``glab``, API writes."""
    from dag_harness_mcp.hooks.bash import skip_options

    name = os.path.basename(argv[0]) if argv else ""
    if name == "git":
        i = skip_options(argv, 1, {"-C", "-c", "--git-dir", "--work-tree"})
        return i < len(argv) and argv[i] == "push"
    if name == "glab":
        words = [a for a in argv[1:] if not a.startswith("-")]
        return not any(w in _GLAB_READ for w in words[:3]) and bool(words)
    if name in ("curl", "wget", "http", "xh"):
        text = " ".join(argv)
        mutating = re.search(r"(-X|--request|--method)[= ]?(POST|PUT|PATCH|DELETE)|"
                             r"\s(-d|--data\S*|-F|--form|--post-data)\b", text)
        return bool(mutating) and ("/api/v4/" in text or "gitlab" in text)
    return False


def _bash(ctx: dict[str, Any], commands: list[bash.Command], cwd: str, sid: str) -> str | None:
    """Why this context refuses the commands, or None."""
    from dag_harness_mcp.hooks import bash

    allow = _patterns(ctx, "bash_allow")
    deny = _patterns(ctx, "bash_deny")
    for cmd in commands:
        if not cmd.argv:
            continue
        shown = " ".join(cmd.argv)[:200]
        for pattern in deny:
            if bash.matches(pattern, cmd.argv):
                return f"`{shown}` matches the bash_deny pattern {pattern!r}"
        if not any(bash.matches(p, cmd.argv) for p in allow):
            return (f"`{shown}` matches no bash_allow pattern {allow or '(none granted)'}; "
                    + _HOW.format(flag=f"--bash-allow '{cmd.argv[0]} *'", sid=sid))
        if gitlab_write(cmd.argv) and not _patterns(ctx, "gitlab_write"):
            return (f"`{shown}` writes to GitLab and the context lacks gitlab_write; "
                    + _HOW.format(flag="--gitlab-write", sid=sid))
    for path, _kind in bash.file_changes(commands, cwd):
        real = target_path(path, cwd)
        if not _path_allowed(ctx, real, cwd):
            return (f"the command writes {real}, outside the file_write globs "
                    f"{_patterns(ctx, 'file_write') or '(none granted)'}; "
                    + _HOW.format(flag=f"--file-write '{os.path.dirname(real)}/**'", sid=sid))
    return None


def decide(
    contexts: list[dict[str, Any]],
    tool_name: str,
    tool_input: dict[str, Any],
    *,
    cwd: str,
    session_id: str,
    default_branches: set[str],
) -> Decision:
    """Allow or deny ``tool_name(tool_input)`` under ``contexts`` (from ``active_for``)."""
    if not contexts:
        return Decision(True)
    ids = [int(c["context_id"]) for c in contexts]
    names = ", ".join(f"#{c['context_id']} {c['name']!r}" for c in contexts)
    reasons: list[str] = []
    if tool_name in FILE_TOOLS:
        raw = tool_input.get(FILE_TOOLS[tool_name])
        if not isinstance(raw, str) or not raw:
            return Decision(False, f"{tool_name} without a {FILE_TOOLS[tool_name]}", ids)
        path = target_path(raw, cwd)
        if any(_path_allowed(c, path, cwd) for c in contexts):
            return Decision(True, "", ids)
        globs = sorted({p for c in contexts for p in _patterns(c, "file_write")})
        return Decision(False, (
            f"{tool_name} to {path} is outside the file_write globs {globs or '(none granted)'} "
            f"of the active context(s) {names}; "
            + _HOW.format(flag=f"--file-write '{os.path.dirname(path)}/**'", sid=session_id)),
            ids)
    if tool_name == "Bash":
        from dag_harness_mcp.hooks import bash

        command = tool_input.get("command")
        if not isinstance(command, str):
            return Decision(False, "Bash call without a command string", ids)
        try:
            commands = bash.parse(command)
        except ValueError as exc:
            return Decision(False, f"cannot parse the Bash command ({exc}); "
                                   "a context is active, so it is refused", ids)
        for cmd in commands:
            why = bash.dangerous(cmd, default_branches)
            if why is not None:
                return Decision(False, f"always refused inside a capability context: {why}", ids)
        for ctx in contexts:
            why = _bash(ctx, commands, cwd, session_id)
            if why is None:
                return Decision(True, "", ids)
            reasons.append(f"context #{ctx['context_id']} {ctx['name']!r}: {why}")
        return Decision(False, "; ".join(reasons), ids)
    if tool_name.startswith("mcp__"):
        gitlab = re.match(GITLAB_WRITE_TOOLS, tool_name) is not None
        for ctx in contexts:
            if not any(_mcp_allowed(p, tool_name) for p in _patterns(ctx, "mcp_tool")):
                reasons.append(f"context #{ctx['context_id']} {ctx['name']!r} has no mcp_tool "
                               f"pattern matching {tool_name}")
            elif gitlab and not _patterns(ctx, "gitlab_write"):
                reasons.append(f"context #{ctx['context_id']} {ctx['name']!r} lacks gitlab_write")
            else:
                return Decision(True, "", ids)
        flag = "--gitlab-write" if gitlab else f"--mcp-tool '{tool_name}'"
        return Decision(False, "; ".join(reasons) + "; " + _HOW.format(flag=flag, sid=session_id),
                        ids)
    return Decision(True, "", ids)

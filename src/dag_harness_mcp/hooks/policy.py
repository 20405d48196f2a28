"""Capability decisions for one tool call against the active capability contexts.

Pure functions over plain data; the rules, and why each exists, are in docs/hooks.md
("The fence"): human-only decisions are answered ``ask``; under a context, file tools
need a ``file_write`` glob, commands are parsed (built-in denials, ``bash_allow``/
``bash_deny``, visible writes) and then run in the sandbox, ``mcp__*`` tools need an
``mcp_tool`` pattern; ``gitlab_write`` gates GitLab writes. Other tools are allowed.
"""

from __future__ import annotations

import os
import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dag_harness_mcp.hooks import bash

__all__ = ["FILE_TOOLS", "HARNESS_TOOL", "Decision", "command_of", "decide", "git_subcommand",
           "gitlab_write", "human_only", "split_wild"]

FILE_TOOLS = {"Write": "file_path", "Edit": "file_path", "MultiEdit": "file_path",
              "NotebookEdit": "notebook_path"}
# MCP tools of this plugin that write to GitLab (issue, MR, merge train, approval).
_GITLAB_WRITE_TOOLS = (
    r".*__(approve\w*|create_(issue|mr|merge_request)\w*|add_to_merge_train|merge\w*)\Z"
)
# The harness's own MCP tools, from the plugin or from a project .mcp.json.
HARNESS_TOOL = re.compile(r"mcp__(?:plugin_dag-harness_)?dag-harness__(\w+)\Z")
# Other servers' tools that write files, by name, and the input keys naming the file.
_MCP_WRITE = re.compile(r"(?:^|_)(write|edit|create|move|rename|copy|delete|remove|append|"
                        r"replace|insert|patch|save|upload|mkdir|touch)", re.IGNORECASE)
_MCP_PATH_KEYS = ("file_path", "path", "filePath", "notebook_path", "destination", "dest",
                  "target", "source", "new_path", "old_path", "directory")
_GLAB_READ = {"list", "view", "status", "diff", "ls", "get", "check", "version", "help"}
def _how(flag: str, sid: str) -> str:
    return (f"ask the user to grant it with `harness capabilities grant {flag} --session {sid}` "
            "or the grant_capabilities MCP tool")


class Decision:
    """``kind`` ``allow``, ``deny`` or ``ask`` with the reason and the contexts consulted;
    ``sandbox``: an allowed command runs in the sandbox of ``context``, which allowed it."""

    __slots__ = ("context", "contexts", "kind", "reason", "sandbox")

    def __init__(self, kind: str, reason: str = "", contexts: list[int] | None = None, *,
                 sandbox: bool = False, context: dict[str, Any] | None = None) -> None:
        self.kind = kind
        self.reason = reason
        self.contexts = contexts or []
        self.sandbox = sandbox
        self.context = context

    @property
    def allowed(self) -> bool:
        return self.kind == "allow"


_ASK = {
    "grant_capabilities": "granting or widening a capability context is a person's decision: "
                          "a person runs `harness capabilities grant ...` in their terminal",
    "revoke_capabilities": "revoking a capability context is a person's decision: a person "
                           "runs `harness capabilities revoke {context_id}`",
    "cancel_execution": "cancelling a run is a person's decision: a person runs "
                        "`harness cancel {execution_id}`",
}


def _truthy(value: object) -> bool:
    """Whether the MCP server would read ``value`` as true (pydantic's lax booleans)."""
    if value is None or value is False or value == 0:
        return False
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false", "f", "no", "n", "off")
    return True


def human_only(tool_name: str, tool_input: dict[str, Any]) -> str | None:
    """Why only a person may make this call (the hook answers ``ask``), or None."""
    match = HARNESS_TOOL.match(tool_name)
    if match is None:
        return None
    tool = match.group(1)
    if tool == "resume_execution":
        if tool_input.get("approved") is None:
            return None  # a plain resume or a repair re-test: the agent's to do
        eid = tool_input.get("execution_id", "N")
        verb = "--approve" if _truthy(tool_input.get("approved")) else "--reject"
        return (f"approving or rejecting a run is a person's decision: a person runs "
                f"`harness resume {eid} {verb}` (or answers this prompt)")
    if tool == "box_up_role":
        if not _truthy(tool_input.get("auto_approve")):
            return None
        return ("skipping the approval of a run is a person's decision: a person runs "
                f"`harness box-up-role {tool_input.get('role', 'ROLE')} --auto-approve`, or "
                "start it without auto_approve")
    if tool in _ASK:
        return _ASK[tool].format(context_id=tool_input.get("context_id", "ID"),
                                 execution_id=tool_input.get("execution_id", "N"))
    if re.match(r"(grant|widen|revoke|approve|reject)_?", tool):
        return f"{tool} is a person's decision; a person runs the `harness` CLI for it"
    return None


def command_of(tool_name: str, tool_input: dict[str, Any]) -> str | None:
    """The command a command-running tool runs (``""`` when it carries none usable)."""
    if tool_name == "Bash" or (not tool_name.startswith("mcp__") and "command" in tool_input):
        command = tool_input.get("command")
        return command if isinstance(command, str) else ""
    return None


def _glob_match(pattern: str, path: str) -> bool:
    """``path`` (absolute, normalised) against a ``file_write`` glob: ``*`` within a
    directory, ``**`` across; a pattern without wildcards covers that path and below."""
    if not any(c in pattern for c in "*?["):
        base = pattern.rstrip("/") or "/"
        return path == base or path.startswith(base if base == "/" else base + "/")
    out = []
    i = 0
    while i < len(pattern):
        for token, regex in (("**/", "(?:.*/)?"), ("**", ".*"), ("*", "[^/]*"), ("?", "[^/]")):
            if pattern.startswith(token, i):
                out.append(regex)
                i += len(token)
                break
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.fullmatch("".join(out), path) is not None


def split_wild(pattern: str, base: str) -> tuple[str, str]:
    """``pattern`` made absolute against ``base``, cut before its first wildcard part:
    (leading directories, the rest or ""). The sandbox makes the leading directories of a
    ``file_write`` glob writable (a superset of what the glob allows)."""
    parts = os.path.join(base, os.path.expanduser(pattern)).split("/")
    for i, part in enumerate(parts):
        if any(c in part for c in "*?["):
            return "/".join(parts[:i]) or "/", "/".join(parts[i:])
    return "/".join(parts), ""


def _resolve_pattern(pattern: str, cwd: str) -> str:
    """Absolute pattern whose wildcard-free leading directories have symlinks resolved."""
    head, rest = split_wild(pattern, cwd)
    return os.path.realpath(head).rstrip("/") + "/" + rest if rest else os.path.realpath(head)


def _target_path(path: str, cwd: str) -> str:
    return os.path.realpath(os.path.join(cwd, os.path.expanduser(path)))


def _patterns(ctx: dict[str, Any], capability: str) -> list[str]:
    return [p for c, p in ctx["capabilities"] if c == capability]


def _path_allowed(ctx: dict[str, Any], path: str, cwd: str) -> bool:
    return any(_glob_match(_resolve_pattern(p, ctx.get("project_dir") or cwd), path)
               for p in _patterns(ctx, "file_write"))


def _mcp_allowed(pattern: str, tool: str) -> bool:
    from fnmatch import fnmatchcase

    if pattern.startswith("re:"):
        try:
            return re.fullmatch(pattern[3:], tool) is not None
        except re.error:
            return False
    return fnmatchcase(tool, pattern)


def git_subcommand(argv: list[str]) -> str | None:
    """The subcommand of a ``git`` argv (after its global options), else None."""
    from dag_harness_mcp.hooks.bash import GIT_VALUE_OPTIONS, skip_options

    if not argv or os.path.basename(argv[0]) != "git":
        return None
    i = skip_options(argv, 1, GIT_VALUE_OPTIONS)
    return argv[i] if i < len(argv) else ""


def gitlab_write(argv: list[str]) -> bool:
    """Whether ``argv`` writes to GitLab: ``git push``, mutating ``glab``, API writes."""
    name = os.path.basename(argv[0]) if argv else ""
    if name == "git":
        return git_subcommand(argv) == "push"
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
    for cmd in commands:
        if not cmd.argv:
            continue
        shown = " ".join(cmd.argv)[:200]
        for pattern in _patterns(ctx, "bash_deny"):
            if bash.matches(pattern, cmd.argv):
                return f"`{shown}` matches the bash_deny pattern {pattern!r}"
        if not any(bash.matches(p, cmd.argv) for p in allow):
            return (f"`{shown}` matches no bash_allow pattern {allow or '(none granted)'}; "
                    + _how(f"--bash-allow '{cmd.argv[0]} *'", sid))
        if gitlab_write(cmd.argv) and not _patterns(ctx, "gitlab_write"):
            return (f"`{shown}` writes to GitLab and the context lacks gitlab_write; "
                    + _how("--gitlab-write", sid))
    for path, _kind in bash.file_changes(commands, cwd):
        real = _target_path(path, cwd)
        if not _path_allowed(ctx, real, cwd):
            return (f"the command writes {real}, outside the file_write globs "
                    f"{_patterns(ctx, 'file_write') or '(none granted)'}; "
                    + _how(f"--file-write '{os.path.dirname(real)}/**'", sid))
    return None


def _file_decision(contexts: list[dict[str, Any]], tool_name: str, raw: object, cwd: str,
                   session_id: str, ids: list[int]) -> Decision:
    if not isinstance(raw, str) or not raw:
        return Decision("deny", f"{tool_name} without a file path", ids)
    path = _target_path(raw, cwd)
    if ".git" in path.split("/"):  # inside a .git directory, or a worktree's .git file
        return Decision("deny", (
            f"{tool_name} to {path} writes git's own files; inside a capability context git "
            "changes them, run by the Bash tool (e.g. `git commit`)"), ids)
    for ctx in contexts:
        if _path_allowed(ctx, path, cwd):
            return Decision("allow", "", ids, context=ctx)
    globs = sorted({p for c in contexts for p in _patterns(c, "file_write")})
    names = ", ".join(f"#{c['context_id']} {c['name']!r}" for c in contexts)
    return Decision("deny", (
        f"{tool_name} to {path} is outside the file_write globs {globs or '(none granted)'} "
        f"of the active context(s) {names}; "
        + _how(f"--file-write '{os.path.dirname(path)}/**'", session_id)), ids)


def _command_decision(contexts: list[dict[str, Any]], tool_name: str, command: str, cwd: str,
                      session_id: str, default_branches: set[str], ids: list[int]) -> Decision:
    from dag_harness_mcp.hooks import bash

    if tool_name == "PowerShell":
        return Decision("deny", "PowerShell cannot run in the dag-harness sandbox; use the Bash "
                                "tool while a capability context is active", ids)
    if not command:
        return Decision("deny", f"{tool_name} call without a command string", ids)
    if "\x00" in command:
        return Decision("deny", f"{tool_name} command contains a NUL character", ids)
    try:
        commands = bash.parse(command)
    except ValueError as exc:
        return Decision("deny", f"cannot parse the command ({exc}); "
                                "a context is active, so it is refused", ids)
    for cmd in commands:
        why = bash.dangerous(cmd, default_branches)
        if why is not None:
            return Decision("deny", f"always refused inside a capability context: {why}", ids)
    reasons: list[str] = []
    for ctx in contexts:
        why = _bash(ctx, commands, cwd, session_id)
        if why is None:
            return Decision("allow", "", ids, sandbox=True, context=ctx)
        reasons.append(f"context #{ctx['context_id']} {ctx['name']!r}: {why}")
    return Decision("deny", "; ".join(reasons), ids)


def _mcp_decision(contexts: list[dict[str, Any]], tool_name: str, tool_input: dict[str, Any],
                  cwd: str, session_id: str, ids: list[int]) -> Decision:
    gitlab = re.match(_GITLAB_WRITE_TOOLS, tool_name) is not None
    ours = HARNESS_TOOL.match(tool_name) is not None
    if not ours and "command" in tool_input:
        return Decision("deny", f"{tool_name} runs a command outside the dag-harness sandbox; "
                                "use the Bash tool while a capability context is active", ids)
    reasons: list[str] = []
    for ctx in contexts:
        if not any(_mcp_allowed(p, tool_name) for p in _patterns(ctx, "mcp_tool")):
            reasons.append(f"context #{ctx['context_id']} {ctx['name']!r} has no mcp_tool "
                           f"pattern matching {tool_name}")
        elif gitlab and not _patterns(ctx, "gitlab_write"):
            reasons.append(f"context #{ctx['context_id']} {ctx['name']!r} lacks gitlab_write")
        else:
            if not ours and _MCP_WRITE.search(tool_name.rsplit("__", 1)[-1]):
                for key in _MCP_PATH_KEYS:
                    if key not in tool_input:
                        continue
                    refused = _file_decision([ctx], tool_name, tool_input[key], cwd,
                                             session_id, ids)
                    if not refused.allowed:
                        return refused
            return Decision("allow", "", ids, context=ctx)
    flag = "--gitlab-write" if gitlab else f"--mcp-tool '{tool_name}'"
    return Decision("deny", "; ".join(reasons) + "; " + _how(flag, session_id), ids)


def decide(contexts: list[dict[str, Any]], tool_name: str, tool_input: dict[str, Any], *,
           cwd: str, session_id: str, default_branches: set[str]) -> Decision:
    """Allow, deny or ask for ``tool_name(tool_input)`` under ``contexts`` (``active_for``)."""
    ids = [int(c["context_id"]) for c in contexts]
    decision = Decision("allow", "", ids)
    if contexts:
        command = command_of(tool_name, tool_input)
        if tool_name in FILE_TOOLS:
            decision = _file_decision(contexts, tool_name, tool_input.get(FILE_TOOLS[tool_name]),
                                      cwd, session_id, ids)
        elif command is not None:
            decision = _command_decision(contexts, tool_name, command, cwd, session_id,
                                         default_branches, ids)
        elif tool_name.startswith("mcp__"):
            decision = _mcp_decision(contexts, tool_name, tool_input, cwd, session_id, ids)
    if decision.allowed:
        why = human_only(tool_name, tool_input)
        if why is not None:
            return Decision("ask", why, ids)
    return decision

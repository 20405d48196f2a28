"""Capability decisions for one tool call against the active execution contexts.

Pure functions over plain data. Three layers (docs/hooks.md, "The fence"):

- Human-only decisions, with or without a context: approving or rejecting a run
  (``resume_execution`` with ``approved``), ``box_up_role`` with ``auto_approve``,
  granting or revoking capabilities and cancelling a run through the harness's own
  MCP tools are answered ``ask``, so only a person can say yes.
- With no active context every other call is allowed. With contexts, a call is
  allowed when at least one context allows it:

  - ``Write``/``Edit``/``MultiEdit``/``NotebookEdit`` and write-like tools of other
    MCP servers: the real path (symlinks resolved, also in the parents of a file
    still to be made, ``..`` normalised, relative to ``cwd``) must match a
    ``file_write`` glob (``*`` within a directory, ``**`` across directories; a
    pattern without wildcards covers that path and below), and must not be inside
    a ``.git`` directory or be a worktree's ``.git`` file.
  - Command tools (``Bash``, ``Monitor``, any tool whose input carries a
    ``command``): the command is parsed into argv lists; the built-in denials (force
    pushes, pushes to the default branch, ``rm -r /``-likes, ``find / -delete``...)
    always apply; no simple command may match a ``bash_deny`` pattern; every one
    must match a ``bash_allow`` pattern (``*`` allows all); files it visibly writes
    must match ``file_write``; ``git push`` and mutating ``glab``/GitLab API calls
    also need ``gitlab_write``. An unparsable command is refused. These rules give
    an early, readable reason; what holds is the sandbox the allowed command then
    runs in (``sandbox=True`` on the decision, applied by the hook).
    ``PowerShell`` cannot be sandboxed and is refused.
  - ``mcp__*`` tools: the name must match an ``mcp_tool`` pattern (a glob, or a
    regular expression written ``re:<regex>``); GitLab-writing tools of this
    plugin also need ``gitlab_write``; another server's tool that carries a
    ``command`` is refused (it would run outside the sandbox).
  - Every other tool (Read, Grep, Glob, WebFetch, Task, ...) is allowed.
"""

from __future__ import annotations

import os
import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dag_harness_mcp.hooks import bash

__all__ = ["FILE_TOOLS", "GITLAB_WRITE_TOOLS", "HARNESS_TOOL", "Decision", "command_of", "decide",
           "gitlab_write", "glob_match", "human_only", "sandbox_dir", "target_path"]

FILE_TOOLS = {"Write": "file_path", "Edit": "file_path", "MultiEdit": "file_path",
              "NotebookEdit": "notebook_path"}
# MCP tools of this plugin that write to GitLab (issue, MR, merge train, approval).
GITLAB_WRITE_TOOLS = (
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
_HOW = ("ask the user to grant it with `harness capabilities grant {flag} --session {sid}` "
        "or the grant_capabilities MCP tool")


class Decision:
    """``allow``, ``deny`` or ``ask`` with the reason; ``contexts`` names what was consulted.

    ``sandbox``: an allowed command must run in the sandbox of ``context`` (the
    context that allowed it). ``allowed`` is True for ``allow`` only.
    """

    __slots__ = ("context", "contexts", "kind", "reason", "sandbox")

    def __init__(self, allowed: bool, reason: str = "", contexts: list[int] | None = None, *,
                 kind: str | None = None, sandbox: bool = False,
                 context: dict[str, Any] | None = None) -> None:
        self.kind = kind or ("allow" if allowed else "deny")
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
        if "auto_approve" not in tool_input or not _truthy(tool_input.get("auto_approve")):
            return None
        return ("skipping the approval of a run is a person's decision: a person runs "
                f"`harness box-up-role {tool_input.get('role', 'ROLE')} --auto-approve`, or "
                "start it without auto_approve")
    if tool in _ASK:
        fields = {"context_id": tool_input.get("context_id", "ID"),
                  "execution_id": tool_input.get("execution_id", "N")}
        return _ASK[tool].format(**fields)
    if re.match(r"(grant|widen|revoke|approve|reject)_?", tool):
        return f"{tool} is a person's decision; a person runs the `harness` CLI for it"
    return None


def command_of(tool_name: str, tool_input: dict[str, Any]) -> str | None:
    """The command a command-running tool runs (``""`` when it carries none usable)."""
    if tool_name == "Bash" or (not tool_name.startswith("mcp__") and "command" in tool_input):
        command = tool_input.get("command")
        return command if isinstance(command, str) else ""
    return None


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


def sandbox_dir(pattern: str, base: str) -> str:
    """The directory the sandbox makes writable for a ``file_write`` glob: its leading
    directories up to the first wildcard (a superset of what the glob allows)."""
    full = os.path.join(base, os.path.expanduser(pattern))
    parts = full.split("/")
    for i, part in enumerate(parts):
        if any(c in part for c in "*?["):
            return "/".join(parts[:i]) or "/"
    return full


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


def _git_internal(path: str) -> bool:
    """Whether ``path`` is git's own: inside a ``.git`` directory or a worktree's ``.git`` file."""
    return ".git" in path.split("/")


def _file_decision(contexts: list[dict[str, Any]], tool_name: str, raw: object, cwd: str,
                   session_id: str, ids: list[int]) -> Decision:
    names = ", ".join(f"#{c['context_id']} {c['name']!r}" for c in contexts)
    if not isinstance(raw, str) or not raw:
        return Decision(False, f"{tool_name} without a file path", ids)
    path = target_path(raw, cwd)
    if _git_internal(path):
        return Decision(False, (
            f"{tool_name} to {path} writes git's own files; inside a capability context git "
            "changes them, run by the Bash tool (e.g. `git commit`)"), ids)
    for ctx in contexts:
        if _path_allowed(ctx, path, cwd):
            return Decision(True, "", ids, context=ctx)
    globs = sorted({p for c in contexts for p in _patterns(c, "file_write")})
    return Decision(False, (
        f"{tool_name} to {path} is outside the file_write globs {globs or '(none granted)'} "
        f"of the active context(s) {names}; "
        + _HOW.format(flag=f"--file-write '{os.path.dirname(path)}/**'", sid=session_id)), ids)


def _command_decision(contexts: list[dict[str, Any]], tool_name: str, command: str, cwd: str,
                      session_id: str, default_branches: set[str], ids: list[int]) -> Decision:
    from dag_harness_mcp.hooks import bash

    if tool_name == "PowerShell":
        return Decision(False, "PowerShell cannot run in the dag-harness sandbox; use the Bash "
                               "tool while a capability context is active", ids)
    if not command:
        return Decision(False, f"{tool_name} call without a command string", ids)
    if "\x00" in command:
        return Decision(False, f"{tool_name} command contains a NUL character", ids)
    try:
        commands = bash.parse(command)
    except ValueError as exc:
        return Decision(False, f"cannot parse the command ({exc}); "
                               "a context is active, so it is refused", ids)
    for cmd in commands:
        why = bash.dangerous(cmd, default_branches)
        if why is not None:
            return Decision(False, f"always refused inside a capability context: {why}", ids)
    reasons: list[str] = []
    for ctx in contexts:
        why = _bash(ctx, commands, cwd, session_id)
        if why is None:
            return Decision(True, "", ids, sandbox=True, context=ctx)
        reasons.append(f"context #{ctx['context_id']} {ctx['name']!r}: {why}")
    return Decision(False, "; ".join(reasons), ids)


def _mcp_paths(tool_input: dict[str, Any]) -> list[object]:
    return [tool_input[k] for k in _MCP_PATH_KEYS if k in tool_input]


def _mcp_decision(contexts: list[dict[str, Any]], tool_name: str, tool_input: dict[str, Any],
                  cwd: str, session_id: str, ids: list[int]) -> Decision:
    gitlab = re.match(GITLAB_WRITE_TOOLS, tool_name) is not None
    ours = HARNESS_TOOL.match(tool_name) is not None
    if not ours and "command" in tool_input:
        return Decision(False, f"{tool_name} runs a command outside the dag-harness sandbox; "
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
                for raw in _mcp_paths(tool_input):
                    refused = _file_decision([ctx], tool_name, raw, cwd, session_id, ids)
                    if not refused.allowed:
                        return refused
            return Decision(True, "", ids, context=ctx)
    flag = "--gitlab-write" if gitlab else f"--mcp-tool '{tool_name}'"
    return Decision(False, "; ".join(reasons) + "; " + _HOW.format(flag=flag, sid=session_id),
                    ids)


def decide(
    contexts: list[dict[str, Any]],
    tool_name: str,
    tool_input: dict[str, Any],
    *,
    cwd: str,
    session_id: str,
    default_branches: set[str],
) -> Decision:
    """Allow, deny or ask for ``tool_name(tool_input)`` under ``contexts`` (``active_for``)."""
    ids = [int(c["context_id"]) for c in contexts]
    decision = Decision(True, "", ids)
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
            return Decision(False, why, ids, kind="ask")
    return decision

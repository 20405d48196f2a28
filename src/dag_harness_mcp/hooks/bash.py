"""Bash command lines parsed into argv lists (``shlex``), never matched as substrings.

:func:`parse` finds every simple command (substitutions, wrappers such as ``sudo``/``env``
and ``bash -c``/``eval`` included); :func:`file_changes` names the files they visibly
write; :func:`dangerous` gives the built-in denials (docs/hooks.md, "The fence").
"""

from __future__ import annotations

import os
import shlex
from fnmatch import fnmatchcase
from functools import cache
from itertools import takewhile

__all__ = ["Command", "dangerous", "file_changes", "matches", "parse", "skip_options"]

_SEPARATORS = {";", "&&", "||", "|", "&", "|&", ";;", "\n", "(", ")", "{", "}", "!"}
_WRITE_REDIRECTS = {">": "write", ">|": "write", ">>": "append", "&>": "write",
                    "&>>": "append", "<>": "write"}
_READ_REDIRECTS = {"<", "<<", "<<<", "<&"}
_SHELLS = {"bash", "sh", "zsh", "dash", "ksh"}
_NOT_FILES = {"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty", "-"}
_SUBST = "__HARNESS_SUBST__"
_ROOT_DIRS = {"/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib64", "/opt",
              "/proc", "/root", "/sbin", "/srv", "/sys", "/usr", "/var", "/mnt", "/media"}
_MAX_DEPTH = 4


class Command:
    """One simple command: its argv (wrappers removed) and its redirections."""

    __slots__ = ("argv", "redirects")

    def __init__(self, argv: list[str], redirects: list[tuple[str, str]]) -> None:
        self.argv = argv
        self.redirects = redirects


def parse(command: str, _depth: int = 0) -> list[Command]:
    """Every simple command in ``command``. Raises ``ValueError`` on unbalanced quotes."""
    outer, inner = _extract_substitutions(command)
    out: list[Command] = []
    for text in (outer, *inner):
        for cmd in _simple_commands(_tokens(text)):
            out.extend(_unwrap(cmd, _depth))
    return out


def _tokens(text: str) -> list[str]:
    lex = shlex.shlex(text, posix=True, punctuation_chars="();<>|&\n")
    lex.whitespace = " \t\r"
    lex.whitespace_split = True
    return list(lex)


def _extract_substitutions(text: str) -> tuple[str, list[str]]:
    """Replace ``$(...)``, ``<(...)``, ``>(...)`` and backticks by a placeholder word."""
    out: list[str] = []
    inner: list[str] = []
    i, n, quote = 0, len(text), ""
    while i < n:
        ch = text[i]
        if quote == "'":
            quote = "" if ch == "'" else quote
            out.append(ch)
            i += 1
            continue
        if ch == "\\" and i + 1 < n:
            out.append(text[i:i + 2])
            i += 2
            continue
        if ch == "'" and not quote:
            quote = "'"
        elif ch == '"':
            quote = "" if quote == '"' else '"'
        if ch == "`":
            end = text.find("`", i + 1)
            end = n if end < 0 else end
            inner.append(text[i + 1:end])
            out.append(_SUBST)
            i = end + 1
            continue
        if ch in "$<>" and i + 1 < n and text[i + 1] == "(" and not text.startswith("$((", i):
            depth, j = 1, i + 2
            while j < n and depth:
                depth += {"(": 1, ")": -1}.get(text[j], 0)
                j += 1
            inner.append(text[i + 2:j - 1] if depth == 0 else text[i + 2:])
            out.append(_SUBST)
            i = j
            continue
        out.append(ch)
        i += 1
    return "".join(out), inner


def _simple_commands(tokens: list[str]) -> list[Command]:
    commands: list[Command] = []
    argv: list[str] = []
    redirects: list[tuple[str, str]] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok in _WRITE_REDIRECTS or tok in _READ_REDIRECTS or tok == ">&":
            if argv and argv[-1].isdigit():
                argv.pop()  # the file descriptor of ``2>``
            target = tokens[i + 1] if i + 1 < len(tokens) else ""
            if tok == ">&" and (target.isdigit() or target == "-"):
                pass  # fd duplication, no file
            elif tok in _WRITE_REDIRECTS or tok == ">&":
                redirects.append((_WRITE_REDIRECTS.get(tok, "write"), target))
            i += 2
            continue
        if tok in _SEPARATORS or (tok and all(c in "();<>|&\n" for c in tok)):
            if argv or redirects:
                commands.append(Command(argv, redirects))
            argv, redirects = [], []
        else:
            argv.append(tok)
        i += 1
    if argv or redirects:
        commands.append(Command(argv, redirects))
    return commands


def skip_options(argv: list[str], start: int, with_value: set[str] | frozenset[str]) -> int:
    i = start
    while i < len(argv) and argv[i].startswith("-") and argv[i] != "-":
        if argv[i] == "--":
            return i + 1
        i += 2 if argv[i] in with_value else 1
    return i


# git's global options that take their value as the next word (git.c, handle_options).
GIT_VALUE_OPTIONS = frozenset({"-C", "-c", "--git-dir", "--work-tree", "--namespace",
                               "--super-prefix", "--config-env"})
_SUDO = frozenset({"-u", "-g", "-C", "-D", "-h", "-p", "-U"})
# Wrapper commands: the options that take a value (``timeout`` also takes its duration).
_WRAPPERS = {"sudo": _SUDO, "doas": _SUDO, "env": frozenset({"-u", "-C", "-S"}),
             "nice": frozenset({"-n"}),
             "timeout": frozenset({"-s", "-k", "--signal", "--kill-after"}),
             "xargs": frozenset({"-I", "-n", "-P", "-L", "-d", "-E", "-s", "-a"}),
             **dict.fromkeys(("nohup", "exec", "command", "builtin", "time", "stdbuf",
                              "ionice", "chrt", "setsid", "caffeinate"),
                             frozenset({"-n", "-c", "-i", "-o", "-e"}))}


def _unwrap(cmd: Command, depth: int) -> list[Command]:
    """Strip assignments and wrapper commands; recurse into ``sh -c`` and ``eval``."""
    argv = cmd.argv
    while argv:
        while argv and "=" in argv[0] and not argv[0].startswith("=") and \
                argv[0].split("=", 1)[0].replace("_", "a").isalnum():
            argv = argv[1:]
        name = os.path.basename(argv[0]) if argv else ""
        if name not in _WRAPPERS:
            break
        argv = argv[skip_options(argv, 1, _WRAPPERS[name]) + (name == "timeout"):]
    result = [Command(argv, cmd.redirects)]
    if depth >= _MAX_DEPTH or not argv:
        return result
    name = os.path.basename(argv[0])
    if name in _SHELLS and "-c" in argv[1:]:
        at = argv.index("-c", 1)
        if at + 1 < len(argv):
            result.extend(parse(argv[at + 1], depth + 1))
    elif name == "eval":
        result.extend(parse(" ".join(argv[1:]), depth + 1))
    return result


@cache
def _pattern_tokens(pattern: str) -> list[str] | None:
    """``shlex.split(pattern)``, cached (a pattern is checked against every simple command)."""
    try:
        return shlex.split(pattern)
    except ValueError:
        return None


def matches(pattern: str, argv: list[str]) -> bool:
    """Whether ``argv`` starts with the tokens of ``pattern`` (each a glob; ``*`` = anything);
    the first token matches the program's basename unless it contains a ``/``."""
    tokens = _pattern_tokens(pattern)
    if tokens is None:
        return False
    if tokens == ["*"] or not tokens:
        return bool(tokens)
    if len(argv) < len(tokens) - (1 if tokens[-1] == "*" else 0):
        return False
    for i, token in enumerate(tokens):
        if i >= len(argv):
            return token == "*"
        word = argv[i]
        if i == 0 and "/" not in token:
            word = os.path.basename(word)
        if not fnmatchcase(word, token):
            return False
    return True


def _operands(argv: list[str], with_value: frozenset[str] | set[str] = frozenset()) -> list[str]:
    out: list[str] = []
    i, options = 1, True
    while i < len(argv):
        arg = argv[i]
        if options and arg == "--":
            options = False
        elif options and arg.startswith("-") and arg != "-":
            if arg in with_value:
                i += 1
        else:
            out.append(arg)
        i += 1
    return out


def file_changes(commands: list[Command], cwd: str) -> list[tuple[str, str]]:
    """``(absolute path, change type)`` for every file the commands visibly write."""
    found: list[tuple[str, str]] = []
    for cmd in commands:
        for kind, target in cmd.redirects:
            found.append((target, kind))
        if not cmd.argv:
            continue
        name = os.path.basename(cmd.argv[0])
        ops = _operands(cmd.argv)
        if name == "tee":
            found.extend((p, "append" if "-a" in cmd.argv else "write") for p in ops)
        elif name == "touch":
            found.extend((p, "touch") for p in ops)
        elif name in ("rm", "unlink", "rmdir", "shred"):
            found.extend((p, "delete") for p in ops)
        elif name == "mkdir":
            found.extend((p, "mkdir") for p in _operands(cmd.argv, {"-m"}))
        elif name in ("mv", "cp", "install", "ln", "rsync"):
            ops = _operands(cmd.argv, {"-t", "-S", "-m", "-o", "-g", "--target-directory"})
            if len(ops) >= 2:
                if name == "mv":
                    found.extend((p, "move") for p in ops[:-1])
                found.append((ops[-1], "copy" if name != "mv" else "write"))
        elif name == "sed" and any(a == "-i" or a.startswith(("-i", "--in-place")) for a in
                                   cmd.argv[1:]):
            ops = _operands(cmd.argv, {"-e", "-f", "-l"})
            has_script = any(a in ("-e", "-f") for a in cmd.argv)
            found.extend((p, "edit") for p in (ops if has_script else ops[1:]))
    out: dict[tuple[str, str], None] = {}  # in order, once each
    for path, kind in found:
        if path and path not in _NOT_FILES and _SUBST not in path:
            out[(os.path.normpath(os.path.join(cwd, os.path.expanduser(path))), kind)] = None
    return list(out)


def _root_like(path: str) -> bool:
    if path in ("~", "~/", "$HOME", "${HOME}", "~/*", "$HOME/*", "/*", "*"):
        return True
    stripped = path[:-2] if path.endswith("/*") else path
    norm = os.path.normpath(stripped) if stripped else "/"
    return norm in _ROOT_DIRS or norm == "//"


def _git_push(args: list[str], default_branches: set[str]) -> str | None:
    positional: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("-f", "--force") or (arg.startswith("-") and not arg.startswith("--")
                                        and "f" in arg[1:] and arg[1:].isalpha()):
            return "force push (`git push --force`/`-f`); use --force-with-lease on your branch"
        if arg in ("--mirror", "--all", "--branches"):
            return f"`git push {arg}` (it would update the default branch)"
        if arg in ("-o", "--push-option", "--repo", "--receive-pack", "--exec"):
            i += 2
            continue
        if not arg.startswith("-"):
            positional.append(arg)
        i += 1
    for refspec in positional[1:]:
        if refspec.startswith("+"):
            return f"force push of refspec {refspec!r}"
        dst = refspec.split(":", 1)[1] if ":" in refspec else refspec
        dst = dst.removeprefix("refs/heads/")
        if dst in default_branches:
            return f"push to the default branch {dst!r}; push a feature branch and open an MR"
    return None


def dangerous(cmd: Command, default_branches: set[str]) -> str | None:
    """Why ``cmd`` is always refused inside a context, or ``None``."""
    argv = cmd.argv
    if not argv:
        return None
    name = os.path.basename(argv[0])
    if name == "git":
        i = skip_options(argv, 1, GIT_VALUE_OPTIONS)
        return _git_push(argv[i + 1:], default_branches) if argv[i:i + 1] == ["push"] else None
    if name == "rm":
        flags = [a for a in argv[1:] if a.startswith("-")]
        if "--no-preserve-root" in flags:
            return "`rm --no-preserve-root`"
        recursive = any(a in ("--recursive",) or (not a.startswith("--") and
                                                   ("r" in a or "R" in a)) for a in flags)
        targets = _operands(argv)
        if recursive and any(_root_like(t) for t in targets):
            return f"recursive delete of {', '.join(t for t in targets if _root_like(t))}"
        return None
    if name == "find":
        starts = list(takewhile(lambda a: not a.startswith(("-", "(", "!")), argv[1:]))
        destructive = "-delete" in argv or any(
            a in ("-exec", "-execdir", "-ok", "-okdir") and j + 1 < len(argv)
            and os.path.basename(argv[j + 1]) in ("rm", "shred", "unlink")
            for j, a in enumerate(argv)
        )
        if destructive and any(_root_like(s) for s in starts):
            return f"`find {' '.join(starts)}` with a delete action"
        return None
    if name in ("chmod", "chown", "chgrp") and any(a in ("-R", "--recursive") for a in argv):
        if any(_root_like(t) for t in _operands(argv)):
            return f"recursive {name} of a system directory"
        return None
    if name == "dd" and any(a.startswith("of=/dev/") and a != "of=/dev/null" for a in argv):
        return "`dd` onto a device"
    if name.startswith("mkfs"):
        return f"`{name}` (formats a filesystem)"
    return None

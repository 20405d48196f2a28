"""The state directory ``<repo>/.harness`` (StateDB, checkpoints, hook log, worktrees):
whoever creates it lists it once in ``.git/info/exclude``, out of ``git status``."""

from __future__ import annotations

import os

__all__ = ["EXCLUDE_COMMENT", "STATE_DIR_NAME", "hide_state_dir", "make_state_dir"]

STATE_DIR_NAME = ".harness"
EXCLUDE_COMMENT = "# dag-harness state: StateDB, checkpoints, hook log, role worktrees"


def make_state_dir(path: str) -> None:
    """``os.makedirs(path)``; when that creates a ``.harness`` directory, hide it from git."""
    if os.path.isdir(path):
        return
    os.makedirs(path, exist_ok=True)
    hide_state_dir(path)


def hide_state_dir(path: str | os.PathLike[str]) -> bool:
    """List ``path`` (a directory named ``.harness``) in its repository's info/exclude; True
    when it added the line. Never raises (the state then merely shows as untracked)."""
    real = os.path.realpath(os.fspath(path))
    if os.path.basename(real) != STATE_DIR_NAME or not os.path.isdir(real):
        return False
    try:
        found = _repository(os.path.dirname(real))
        if found is None:
            return False
        top, common_dir = found
        relative = os.path.relpath(real, top).replace(os.sep, "/")
        if relative.startswith(".."):
            return False
        line = f"/{relative}/"
        exclude = os.path.join(common_dir, "info", "exclude")
        try:
            with open(exclude, encoding="utf-8") as handle:
                text = handle.read()
        except FileNotFoundError:
            text = ""
        if line in (entry.strip() for entry in text.splitlines()):
            return False
        os.makedirs(os.path.dirname(exclude), exist_ok=True)
        with open(exclude, "a", encoding="utf-8") as handle:
            gap = "\n" if text and not text.endswith("\n") else ""
            handle.write(f"{gap}{EXCLUDE_COMMENT}\n{line}\n")
        return True
    except (OSError, UnicodeError, ValueError):
        return False


def _repository(start: str) -> tuple[str, str] | None:
    """``(top of the working tree, git common dir)`` of the repository holding ``start``
    (through a ``.git`` file and its ``commondir`` for a linked worktree)."""
    current = start
    while True:
        dot_git = os.path.join(current, ".git")
        if os.path.isdir(dot_git):
            return current, dot_git
        if os.path.isfile(dot_git):
            with open(dot_git, encoding="utf-8") as handle:
                first = handle.readline().strip()
            if not first.startswith("gitdir:"):
                return None
            git_dir = os.path.join(current, first[len("gitdir:"):].strip())
            common_file = os.path.join(git_dir, "commondir")
            if os.path.isfile(common_file):
                with open(common_file, encoding="utf-8") as handle:
                    git_dir = os.path.join(git_dir, handle.read().strip())
            return current, os.path.normpath(git_dir)
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent

"""A box-up run paused at approval, its capability context, and a damage meter.

:class:`FenceLab` builds a real role repository with a bare ``origin`` (roles
``common``, ``web``, ``db``), syncs it and starts ``box_up_role common`` through the
real MCP server in memory, so the run pauses at human approval holding the
context a box-up run opens (worktree ``<repo>/.harness/worktrees/common``, StateDB
``<repo>/.harness/harness.db``). :meth:`FenceLab.call` sends one tool call through
the real hook process and, when the hook lets it through, executes it for real:
commands as the hook rewrote them (``bash -c``), file tools the way Claude Code
writes, the harness's MCP tools through the MCP server, another server's tools as
such a server would. :meth:`FenceLab.snapshot` and :func:`damage` count what
changed outside the worktree and the private temp dirs.
"""

from __future__ import annotations

import asyncio
import glob
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcp.client import Client

from dag_harness_mcp.config import Settings
from dag_harness_mcp.hooks.policy import HARNESS_TOOL
from dag_harness_mcp.mcp.server import create_server
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.roles import sync_roles
from support.boxup_repo import BoxUpRepo

__all__ = ["FenceLab", "Listener", "Outcome", "Snapshot", "damage", "require_bwrap"]

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "hooks" / "harness_hook.py"
VENV_BIN = ROOT / ".venv" / "bin"
EXAMPLE_ROLE = ROOT / "examples" / "ansible-repo" / "ansible" / "roles" / "common"
# Rows an approval, a cancel or a changed grant would touch.
_DB_TABLES = ("execution_contexts", "context_capabilities", "workflow_executions",
              "merge_requests", "merge_train_entries", "issues")


def require_bwrap() -> str:
    """bwrap's path; skips the test outside CI when bubblewrap is missing, fails in CI
    (``CI`` set), where ``./dev setup`` installs it."""
    import pytest

    from dag_harness_mcp.sandbox import find_bwrap

    found = find_bwrap({})
    if found is None:
        message = "bubblewrap is not installed: run ./dev setup (apt-get install bubblewrap)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


class Listener:
    """A TCP listener on 127.0.0.1 that counts the connections it accepts."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.port = int(self._sock.getsockname()[1])
        self.accepted = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._sock.close()


@dataclass
class Outcome:
    """One tool call: what the hook answered and, if it let the call through, what ran."""

    klass: str
    tool: str
    tool_input: Any
    decision: str  # none (no answer) | allow | sandbox | ask | deny | blocked (exit 2)
    reason: str = ""
    executed: bool = False
    returncode: int | None = None
    output: str = ""

    def __str__(self) -> str:
        ran = f" -> rc {self.returncode}: {self.output[-300:]!r}" if self.executed else ""
        return f"[{self.decision}] {self.tool} {json.dumps(self.tool_input)[:300]}{ran}"


@dataclass
class Snapshot:
    files: dict[str, tuple[Any, ...]]
    rows: dict[str, list[tuple[Any, ...]]]
    hidden: list[str]
    connections: int
    missing_objects: list[str]
    packs: list[str]


@dataclass
class FenceLab:
    base: Path
    repo: BoxUpRepo
    settings: Settings
    worktree: Path
    gitdir: Path
    admin: Path
    db_path: Path
    home: Path
    outside: Path
    token: str
    execution_id: int
    context_id: int
    listener: Listener
    objects: list[str] = field(default_factory=list)

    # -- building -----------------------------------------------------------------

    @classmethod
    def create(cls) -> FenceLab:
        # Outside /tmp, so the sandbox shows origin and the sentinels read-only (under
        # /tmp it would hide them behind its private /tmp).
        (ROOT / ".tools").mkdir(exist_ok=True)
        base = Path(tempfile.mkdtemp(prefix="fence-lab-", dir=ROOT / ".tools")).resolve()
        (base / "pytest.ini").write_text("[pytest]\n")  # not this project's pytest settings
        repo = BoxUpRepo.create(base)
        settings = repo.settings(db_path=None, worktree_root=None, forge="local")
        with HarnessApp.open(settings) as app:
            sync_roles(app)
        run = asyncio.run(_call_tool(settings, "box_up_role", {"role": "common"}))
        assert run["status"] == "paused", run
        with HarnessApp.open(settings) as app:
            [context] = app.db.capabilities.contexts(execution_id=run["execution_id"])
        worktree = (settings.worktrees_dir / "common").resolve()
        gitdir = repo.root / ".git"
        home = base / "home"
        outside = base / "outside"
        for path in (home, outside / "sub"):
            path.mkdir(parents=True)
        (outside / "keep.txt").write_text("keep\n")
        (home / ".bashrc").write_text("# the person's\n")
        # What an agent may have left in its worktree earlier: links to outside.
        (worktree / "link-out").symlink_to(outside)
        (worktree / "link-keep").symlink_to(outside / "keep.txt")
        lab = cls(base=base, repo=repo, settings=settings, worktree=worktree, gitdir=gitdir,
                  admin=gitdir / "worktrees" / "common",
                  db_path=settings.database_path.resolve(), home=home, outside=outside,
                  token=f"fence-{uuid.uuid4().hex[:12]}", execution_id=int(run["execution_id"]),
                  context_id=int(context["id"]), listener=Listener())
        # The first sandboxed command (the hook stages the branch ref and pins config.worktree).
        assert lab.call("warm-up", "Bash", "true").returncode == 0
        lab.objects = [line.split()[0] for line in
                       _git(repo.root, "rev-list", "--objects", "--all").splitlines()]
        return lab

    def close(self) -> None:
        self.listener.close()
        for pattern in self._hidden_globs():
            for path in glob.glob(pattern):
                shutil.rmtree(path, ignore_errors=True) if os.path.isdir(path) else os.unlink(path)
        shutil.rmtree(self.base, ignore_errors=True)

    # -- placeholders ----------------------------------------------------------------

    def fill(self, value: Any) -> Any:
        if isinstance(value, str):
            subs = {"@WT@": self.worktree, "@REPO@": self.repo.root, "@GITDIR@": self.gitdir,
                    "@ADMIN@": self.admin, "@ORIGIN@": self.repo.origin, "@OUT@": self.outside,
                    "@DB@": self.db_path, "@STATE@": self.db_path.parent, "@HOME@": self.home,
                    "@EID@": self.execution_id, "@CTX@": self.context_id,
                    "@TMP@": f"/tmp/{self.token}", "@TOKEN@": self.token,
                    "@PORT@": self.listener.port, "@PY@": sys.executable, "@BIN@": VENV_BIN}
            for key, sub in subs.items():
                value = value.replace(key, str(sub))
            if value in (str(self.execution_id), str(self.context_id)):
                return int(value)
            return value
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        return value

    # -- one tool call -----------------------------------------------------------------

    def env(self, **extra: str) -> dict[str, str]:
        """The environment Claude Code gives its hooks and its Bash tool here."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("HARNESS_", "CLAUDE_", "GIT_"))}
        env.update(CLAUDE_PROJECT_DIR=str(self.repo.root), HOME=str(self.home),
                   PATH=f"{VENV_BIN}:{env.get('PATH', '/usr/bin:/bin')}")
        env.update(extra)
        return env

    def _hook_process(self, event: str, tool: str, tool_input: dict[str, Any], use_id: str,
                      env: dict[str, str] | None, **extra: Any
                      ) -> subprocess.CompletedProcess[bytes]:
        payload = {"session_id": "sess-fence", "transcript_path": str(self.base / "t.jsonl"),
                   "cwd": str(self.worktree), "permission_mode": "default",
                   "hook_event_name": event, "tool_name": tool, "tool_input": tool_input,
                   "tool_use_id": use_id, **extra}
        return subprocess.run([sys.executable, "-S", str(SCRIPT), event],
                              input=json.dumps(payload).encode(), capture_output=True,
                              env=env or self.env(), timeout=60, check=False)

    def hook(self, tool: str, tool_input: dict[str, Any], use_id: str,
             env: dict[str, str] | None = None) -> tuple[str, str, dict[str, Any]]:
        """``(decision, reason, input to run)`` from the real PreToolUse hook process."""
        proc = self._hook_process("PreToolUse", tool, tool_input, use_id, env)
        if proc.returncode == 2:
            return "blocked", proc.stderr.decode(), tool_input
        assert proc.returncode == 0, proc.stderr.decode()
        out = proc.stdout.decode().strip()
        if not out:
            return "none", "", tool_input
        answer = json.loads(out)["hookSpecificOutput"]
        decision = answer["permissionDecision"]
        if decision == "allow" and "updatedInput" in answer:
            return "sandbox", answer.get("permissionDecisionReason", ""), answer["updatedInput"]
        return decision, answer.get("permissionDecisionReason", ""), tool_input

    def call(self, klass: str, tool: str, raw: Any, use_id: str | None = None,
             env: dict[str, str] | None = None) -> Outcome:
        """Send one (template) call through the hook; execute it if it was let through."""
        tool_input = self.fill({"command": raw} if isinstance(raw, str) else raw)
        use_id = use_id or "toolu_" + uuid.uuid4().hex[:16]
        decision, reason, run_input = self.hook(tool, tool_input, use_id, env)
        outcome = Outcome(klass, tool, tool_input, decision, reason)
        if decision in ("none", "allow", "sandbox"):
            outcome.executed = True
            outcome.returncode, outcome.output = self._execute(tool, run_input, env)
            if "git" in str(run_input.get("command", "")):
                # Its PostToolUse brings a sandbox commit to the branch (only git commits).
                event = "PostToolUse" if outcome.returncode == 0 else "PostToolUseFailure"
                post = self._hook_process(event, tool, run_input, use_id, env,
                                          tool_response={"stdout": outcome.output[-2000:]})
                assert (post.returncode, post.stdout) == (0, b""), post.stderr.decode()
        return outcome

    def _execute(self, tool: str, tool_input: dict[str, Any],
                 env: dict[str, str] | None) -> tuple[int, str]:
        if tool in ("Write", "Edit", "MultiEdit", "NotebookEdit"):
            return _file_tool(tool, tool_input, self.worktree)
        match = HARNESS_TOOL.match(tool)
        if match is not None:
            try:
                result = asyncio.run(_call_tool(self.settings, match.group(1), tool_input))
            except Exception as exc:
                return 1, repr(exc)
            return 0, json.dumps(result, default=str)[:2000]
        if tool.startswith("mcp__") and "command" not in tool_input:
            return _file_tool("Write", {"file_path": tool_input.get("path", ""),
                                        "content": tool_input.get("content", "")}, self.worktree)
        command = tool_input.get("command")
        if not isinstance(command, str):
            return 1, "no command"
        proc = subprocess.run(["bash", "-c", command], cwd=self.worktree, env=env or self.env(),
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=120,
                              check=False)
        return proc.returncode, (proc.stdout + proc.stderr).decode("utf-8", "replace")[-4000:]

    # -- damage ---------------------------------------------------------------------

    def _hidden_globs(self) -> list[str]:
        return [f"{root}/{self.token}*" for root in ("/tmp", "/var/tmp", "/dev/shm", "/run")]

    def _allowed(self, path: str) -> bool:
        """Paths the context may change: the worktree, what committing there needs, and
        the harness's own files beside the StateDB (written by the hooks, outside)."""
        state = str(self.db_path.parent)
        ref = "refs/heads/box-up/common"
        allowed = (str(self.worktree), str(self.admin), str(self.gitdir / "objects"),
                   str(self.gitdir / ref), str(self.gitdir / "logs" / ref),
                   str(self.base / "t.jsonl"))
        if path.startswith(tuple(a + "/" for a in allowed)) or path in allowed:
            return True
        name = os.path.basename(path)
        in_state = os.path.dirname(path) == state or path.startswith(state + "/harness.db.spool")
        return in_state and name.startswith(("harness.db", "harness-checkpoints.db", "hooks.log",
                                             "sandbox-probe.json"))

    def snapshot(self) -> Snapshot:
        files: dict[str, tuple[Any, ...]] = {}
        for top, dirs, names in os.walk(self.base):
            for name in dirs + names:
                path = os.path.join(top, name)
                if not self._allowed(path):
                    files[path] = _fingerprint(path)
            dirs[:] = [d for d in dirs if not self._allowed(os.path.join(top, d))]
        # Inside what may change, what git outside the sandbox trusts stays as it was.
        for pinned in (self.worktree / ".git", self.admin / "HEAD", self.admin / "commondir",
                       self.admin / "gitdir", self.admin / "config.worktree"):
            if os.path.lexists(pinned):
                files[str(pinned)] = _fingerprint(str(pinned))
        rows: dict[str, list[tuple[Any, ...]]] = {}
        with HarnessApp.open(self.settings) as app:
            conn = app.db.connection()
            for table in _DB_TABLES:
                rows[table] = [tuple(r) for r in conn.execute(
                    f"SELECT * FROM {table} ORDER BY 1").fetchall()]
        hidden = sorted(p for pattern in self._hidden_globs() for p in glob.glob(pattern))
        check = subprocess.run(["git", "-C", str(self.repo.root), "cat-file", "--batch-check"],
                               input="\n".join(self.objects) + "\n", capture_output=True,
                               text=True, check=True)
        missing = [line for line in check.stdout.splitlines() if line.endswith(" missing")]
        packs = sorted(os.listdir(self.gitdir / "objects" / "pack"))
        return Snapshot(files, rows, hidden, self.listener.accepted, missing, packs)


def damage(before: Snapshot, after: Snapshot) -> list[str]:
    """Everything that changed outside what the context may change, one line each."""
    found = []
    for path in sorted(set(before.files) | set(after.files)):
        was, now = before.files.get(path), after.files.get(path)
        if was != now:
            found.append(f"file {path}: {was} -> {now}")
    for table, rows in before.rows.items():
        if after.rows[table] != rows:
            found.append(f"StateDB {table}: {rows} -> {after.rows[table]}")
    found += [f"host path {p}" for p in after.hidden if p not in before.hidden]
    if after.connections != before.connections:
        found.append(f"network: {after.connections - before.connections} connection(s) "
                     "reached the listener")
    found += [f"object lost: {line}" for line in after.missing_objects
              if line not in before.missing_objects]
    found += [f"pack removed: {p}" for p in before.packs if p not in after.packs]
    return found


def _fingerprint(path: str) -> tuple[Any, ...]:
    st = os.lstat(path)
    if os.path.islink(path):
        return ("link", os.readlink(path))
    if os.path.isdir(path):
        return ("dir", st.st_mode)
    digest = ""
    if os.path.isfile(path) and st.st_size < 4_000_000:
        with open(path, "rb") as handle:
            digest = hashlib.sha1(handle.read()).hexdigest()
    return ("file", st.st_mode, st.st_size, digest)


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                          check=True).stdout


def _file_tool(tool: str, tool_input: dict[str, Any], cwd: Path) -> tuple[int, str]:
    """Do what Claude Code's file tools do with an input the hook let through."""
    path = os.path.join(cwd, str(tool_input.get("file_path") or tool_input.get("notebook_path")))
    try:
        if tool == "Write":
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(str(tool_input.get("content", "")))
        elif tool == "NotebookEdit":
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(str(tool_input.get("new_source", "")))
        else:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
            edits = tool_input.get("edits") if tool == "MultiEdit" else [tool_input]
            for edit in edits or []:
                text = text.replace(str(edit["old_string"]), str(edit["new_string"]), 1)
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(text)
    except OSError as exc:
        return 1, repr(exc)
    return 0, ""


async def _call_tool(settings: Settings, name: str, args: dict[str, Any]) -> Any:
    async with Client(create_server(settings)) as client:
        result = await client.call_tool(name, args)
    if result.is_error:
        raise RuntimeError("".join(getattr(c, "text", "") for c in result.content))
    return result.structured_content

"""Confinement of a command with bubblewrap while a capability context is active.

What the sandbox exposes, and why, is in docs/hooks.md ("The sandbox"). Standard library
only: the hooks call it on every command under a context.
"""

from __future__ import annotations

import json
import os
import shlex
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = ["MARK", "PRIVATE_OBJECTS", "PRIVATE_REFS", "Plan", "bwrap_args", "find_bwrap",
           "harness_root", "make_plan", "probe", "stage_refs", "sync_refs", "unwrap",
           "wrap_shell"]

MARK = "HARNESS_SANDBOX"
_INSTALL_HINT = ("install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`; "
                 "Fedora: `dnf install bubblewrap`)")
_HIDDEN = ("/tmp", "/var/tmp", "/run")
_PRIVATE_HOME = "/tmp/.home"
_BASE = ("--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
         "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc")
PRIVATE_REFS = "harness-refs"  # in a worktree's admin dir: its branch ref as the sandbox sees it
PRIVATE_OBJECTS = "harness-objects"  # ... and the objects a sandboxed command wrote
_SEEN_OBJECTS = "/tmp/.harness-objects"  # where the sandbox sees the real object store


def find_bwrap(environ: Mapping[str, str] | None = None) -> str | None:
    """``HARNESS_BWRAP`` if set (empty = none), else a system path; never ``PATH``, which
    is the agent's to change."""
    env = os.environ if environ is None else environ
    if "HARNESS_BWRAP" in env:
        chosen = env["HARNESS_BWRAP"]
        return chosen if chosen and os.access(chosen, os.X_OK) else None
    for path in ("/usr/bin/bwrap", "/bin/bwrap", "/usr/local/bin/bwrap"):
        if os.access(path, os.X_OK):
            return path
    return None


def _hidden_tmpfs() -> list[str]:
    return [arg for path in _HIDDEN if os.path.isdir(path) and not os.path.islink(path)
            for arg in ("--tmpfs", path)]


def probe(cache_dir: str, environ: Mapping[str, str] | None = None) -> tuple[str | None, str]:
    """``(bwrap path, "")`` when a sandbox can be made here, else ``(None, why)``; cached in
    ``cache_dir/sandbox-probe.json`` so the hot path pays one ``stat`` and one small read."""
    if not sys.platform.startswith("linux"):
        return None, (f"no sandbox on {sys.platform}: the dag-harness fence needs Linux "
                      "with bubblewrap")
    bwrap = find_bwrap(environ)
    if bwrap is None:
        return None, f"bubblewrap (bwrap) is not installed; {_INSTALL_HINT}"
    try:
        st = os.stat(bwrap)
    except OSError as exc:
        return None, f"cannot stat {bwrap} ({exc}); {_INSTALL_HINT}"
    key = f"{bwrap}|{st.st_size}|{st.st_mtime_ns}|{os.uname().release}|{os.getuid()}"
    path = os.path.join(cache_dir, "sandbox-probe.json")
    try:
        with open(path, encoding="utf-8") as handle:
            cached = json.load(handle)
        if isinstance(cached, dict) and cached.get("key") == key:
            return (bwrap, "") if cached.get("ok") is True else (None, str(cached.get("why")))
    except (OSError, ValueError):
        pass
    ok, why = _run_probe(bwrap)
    try:
        os.makedirs(cache_dir, exist_ok=True)
        _write(path, json.dumps({"key": key, "ok": ok, "why": why}))
    except OSError:
        pass
    return (bwrap, "") if ok else (None, why)


def _run_probe(bwrap: str) -> tuple[bool, str]:
    import subprocess

    args = [bwrap, *_BASE, *_hidden_tmpfs(), "--", "/bin/sh", "-c", "exit 0"]
    try:
        done = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=10.0, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return False, f"{bwrap} cannot run ({exc}); {_INSTALL_HINT}"
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", "replace").strip()[:300]
        return False, (f"{bwrap} fails its probe (exit {done.returncode}: {err}); user "
                       "namespaces may be disabled (sysctl kernel.unprivileged_userns_clone "
                       "or an AppArmor restriction)")
    return True, ""


class Plan:
    """The bind mounts of one sandbox, in the order bwrap applies them."""

    __slots__ = ("network", "private", "protect", "readonly", "stores", "syncs", "writable")

    def __init__(self, network: bool = False) -> None:
        self.readonly: list[str] = []  # re-exposed read-only under a hidden directory
        self.writable: list[str] = []
        self.private: list[tuple[str, str]] = []  # (private dir, where it is seen)
        self.protect: list[str] = []  # pinned read-only inside a writable bind
        self.syncs: list[tuple[str, str, str]] = []  # (git dir, branch ref, private dir)
        self.stores: list[tuple[str, str]] = []  # (git dir, private object store)
        self.network = network


def _inside(path: str, base: str) -> bool:
    return path == base or path.startswith(base.rstrip("/") + "/")


def _add(items: list[str], path: str) -> None:
    if path not in items:
        items.append(path)


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read(4096).strip()
    except (OSError, UnicodeDecodeError):
        return ""


def _write(path: str, text: str) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def _listdir(path: str) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


def _is_hex(value: str) -> bool:
    return bool(value) and all(c in "0123456789abcdef" for c in value)


def _admin_dir(worktree: str, writable: list[str]) -> str | None:
    """The worktree's admin dir ``<common>/worktrees/<name>``, checked from the repository
    side: the ``.git`` file is the agent's to edit, so it only proposes the directory."""
    text = _read(os.path.join(worktree, ".git"))
    if not text.startswith("gitdir:"):
        return None
    admin = os.path.realpath(os.path.join(worktree, text[len("gitdir:"):].strip()))
    common = os.path.dirname(os.path.dirname(admin))
    if any(_inside(admin, w) for w in writable) \
            or os.path.basename(os.path.dirname(admin)) != "worktrees" \
            or not os.path.isdir(os.path.join(common, "objects")) \
            or not os.path.isdir(os.path.join(common, "refs")):
        return None
    back = _read(os.path.join(admin, "gitdir"))
    if not back or os.path.realpath(os.path.dirname(back)) != worktree:
        return None
    return admin


def _read_ref(common: str, ref: str) -> str:
    """The object id ``ref`` names in the git directory ``common`` (loose or packed), or ""."""
    value = _read(os.path.join(common, ref))
    if value:
        return value
    try:
        with open(os.path.join(common, "packed-refs"), encoding="utf-8") as handle:
            for line in handle:
                sha, _, name = line.rstrip("\n").partition(" ")
                if name == ref:
                    return sha
    except (OSError, UnicodeDecodeError):
        pass
    return ""


def _git(plan: Plan, worktree: str, default_branches: Iterable[str]) -> str | None:
    """Make committing in ``worktree`` possible and nothing else in its repository; returns
    the repository's git directory.

    New objects go to a private store (the real one is seen read-only through alternates,
    so none can be deleted); the branch's ref directory is replaced by a private copy of
    its own ref, which :func:`sync_refs` brings out. Refs the agent makes there stay
    private, so it cannot plant another role's branch.
    """
    dotgit = os.path.join(worktree, ".git")
    if os.path.isdir(dotgit) and not os.path.islink(dotgit):
        return None  # a repository of its own, inside the writable directory already
    admin = _admin_dir(worktree, plan.writable)
    if admin is None:
        return None
    _add(plan.protect, dotgit)
    common = os.path.dirname(os.path.dirname(admin))
    store = os.path.join(admin, PRIVATE_OBJECTS)
    plan.stores.append((common, store))
    plan.private.append((store, os.path.join(common, "objects")))
    _add(plan.writable, admin)
    # git outside the sandbox reads config.worktree (core.fsmonitor, core.hooksPath ...):
    # made empty here so that it can be pinned like the others.
    worktree_config = os.path.join(admin, "config.worktree")
    if not os.path.exists(worktree_config):
        try:  # noqa: SIM105 (contextlib is one more import on the hooks' hot path)
            open(worktree_config, "a", encoding="utf-8").close()
        except OSError:
            pass
    for name in ("HEAD", "commondir", "gitdir", "config.worktree"):
        if os.path.exists(os.path.join(admin, name)):
            _add(plan.protect, os.path.join(admin, name))
    head = _read(os.path.join(admin, "HEAD"))
    ref = head[len("ref: "):] if head.startswith("ref: refs/heads/") else ""
    refdir = os.path.dirname(os.path.join(common, ref))
    if not ref or ref[len("refs/heads/"):] in set(default_branches) \
            or ".." in ref.split("/") or not os.path.isdir(refdir):
        return common
    private = os.path.join(admin, PRIVATE_REFS)
    plan.private.append((private, refdir))
    plan.syncs.append((common, ref, private))
    if refdir == os.path.join(common, "refs", "heads"):
        # Without a prefix directory the other heads stay in view, read-only (under a
        # prefix such as box-up/ the other roles' branches are simply hidden).
        leaf = os.path.basename(ref)
        for name in _listdir(refdir):
            if name not in (leaf, leaf + ".lock"):
                _add(plan.protect, os.path.join(refdir, name))
    log = os.path.join(common, "logs", ref)
    if os.path.isfile(log):
        _add(plan.writable, log)
    return common


def _drop(plan: Plan, private: str) -> None:
    plan.private[:] = [p for p in plan.private if p[0] != private]


def _no_links(*paths: str) -> None:
    """The hooks write the private dirs outside the sandbox, which could have replaced one
    with a link to the real store or refs: refuse to follow it."""
    for path in paths:
        if os.path.islink(path):
            raise OSError(f"{path} is a symbolic link, not the sandbox's own directory")


def stage_refs(plan: Plan) -> None:
    """Bring the private stores and ref copies up to date (after :func:`sync_refs`); one
    that cannot be made leaves its directory read-only (a commit fails, nothing else)."""
    sync_refs(plan)
    for pair in list(plan.stores):
        try:
            _no_links(pair[1], os.path.join(pair[1], "info"))
            os.makedirs(os.path.join(pair[1], "info"), exist_ok=True)
            os.makedirs(os.path.join(pair[1], "pack"), exist_ok=True)
            alternates = os.path.join(pair[1], "info", "alternates")
            if _read(alternates) != _SEEN_OBJECTS:
                _write(alternates, _SEEN_OBJECTS + "\n")
        except OSError:
            plan.stores.remove(pair)
            _drop(plan, pair[1])
    for entry in list(plan.syncs):
        common, ref, private = entry
        try:
            _no_links(private)
            os.makedirs(private, exist_ok=True)
            value = _read_ref(common, ref)
            for name in (os.path.basename(ref), ".base"):
                target = os.path.join(private, name)
                if value and _read(target) != value:
                    _write(target, value + "\n")
                elif not value and os.path.lexists(target):
                    os.unlink(target)
        except OSError:
            plan.syncs.remove(entry)
            _drop(plan, private)


def sync_refs(plan: Plan) -> list[str]:
    """Move each real branch ref to what a sandboxed command committed; returns the refs
    moved. Compare-and-swap against the staged base: a ref the workflow moved meanwhile
    wins, and only when every object the commit needs is in the real store."""
    _import_objects(plan)
    moved: list[str] = []
    for common, ref, private in plan.syncs:
        base = _read(os.path.join(private, ".base"))
        new = _read(os.path.join(private, os.path.basename(ref)))
        if os.path.islink(private) or not base or new == base or len(new) not in (40, 64) \
                or not _is_hex(new):
            continue
        import subprocess  # only now: importing it costs more than the rest of this module

        git = ["git", "--git-dir", common]
        try:
            missing = subprocess.run(
                [*git, "rev-list", "--objects", "--missing=print", new, "--not", base],
                stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
            if missing.returncode != 0 or any(
                    line.startswith("?") for line in missing.stdout.splitlines()):
                continue
            done = subprocess.run(
                [*git, "update-ref", "-m", "dag-harness: sandbox commit", ref, new, base],
                stdin=subprocess.DEVNULL, capture_output=True, check=False)
        except OSError:  # no git here: the commit stays private until one can move the ref
            continue
        if done.returncode == 0:
            moved.append(ref)
            _write(os.path.join(private, ".base"), new + "\n")
    return moved


def _import_objects(plan: Plan) -> None:
    """Move the loose objects sandboxed commands wrote into the real store, each checked
    (its name is the hash of its content); a pack is never imported."""
    for common, store in plan.stores:
        fans = [] if os.path.islink(store) else _listdir(store)
        for fan in (d for d in fans if len(d) == 2 and _is_hex(d)):
            if os.path.islink(os.path.join(store, fan)):
                continue
            for name in _listdir(os.path.join(store, fan)):
                source = os.path.join(store, fan, name)
                if _is_hex(name) and len(name) in (38, 62):
                    _import_object(common, fan, name, source)
                if os.path.isfile(source):
                    os.unlink(source)


def _import_object(common: str, fan: str, name: str, source: str) -> None:
    import hashlib
    import zlib

    target = os.path.join(common, "objects", fan, name)
    if os.path.exists(target):
        return
    try:
        with open(source, "rb") as handle:
            packed = handle.read(64 * 1024 * 1024 + 1)
        data = zlib.decompress(packed)
    except (OSError, zlib.error):
        return
    digest = hashlib.sha1 if len(name) == 38 else hashlib.sha256
    kind = data.split(b"\0", 1)[0].split(b" ")[0]
    if digest(data).hexdigest() != fan + name or kind not in (b"blob", b"tree", b"commit",
                                                               b"tag"):
        return
    os.makedirs(os.path.dirname(target), exist_ok=True)
    tmp = f"{target}.{os.getpid()}.tmp"
    with open(tmp, "wb") as handle:
        handle.write(packed)
    os.chmod(tmp, 0o444)
    os.replace(tmp, target)


def harness_root() -> str:
    """The harness's checkout or virtual environment, kept readable in the sandbox (its
    commands may run ``harness`` and the role test toolchain)."""
    package = os.path.dirname(os.path.abspath(__file__))
    here = package
    for _ in range(5):
        here = os.path.dirname(here)
        if any(os.path.exists(os.path.join(here, mark))
               for mark in ("pyvenv.cfg", "pyproject.toml")):
            return here
    return os.path.dirname(package)


def make_plan(writable: Iterable[str], *, project_dir: str | None, db_path: str | None,
              network: bool = False, default_branches: Iterable[str] = ("main", "master"),
              home: str | None = None, installed_at: str | None = None,
              commits: bool = True) -> Plan:
    """The sandbox for a context granting writes under ``writable`` (directories).

    ``commits=False`` (the workflow's own test commands) pins a worktree's ``.git`` file and
    leaves the repository read-only, so nothing there can commit.
    """
    plan = Plan(network)
    for path in writable:
        real = os.path.realpath(path)
        if os.path.isdir(real):
            _add(plan.writable, real)
    visible: list[str | None] = [project_dir, home, installed_at or harness_root()]
    for directory in list(plan.writable):
        if commits:
            visible.append(_git(plan, directory, default_branches))
        elif os.path.lexists(os.path.join(directory, ".git")):
            _add(plan.protect, os.path.join(directory, ".git"))
    if db_path:
        db_real = os.path.realpath(db_path)
        db_dir = os.path.dirname(db_real)
        visible.append(db_dir)
        if any(_inside(db_dir, w) and db_dir != w for w in plan.writable):
            _add(plan.protect, db_dir)  # with the checkpoints and any -wal to come
        else:
            stem = os.path.splitext(os.path.basename(db_real))[0]
            for name in _listdir(db_dir):
                target = os.path.join(db_dir, name)
                if name.startswith(stem) and any(_inside(target, w) for w in plan.writable):
                    _add(plan.protect, target)
    for seen in visible:
        real = os.path.realpath(seen) if seen else ""
        if real and os.path.isdir(real) and any(_inside(real, h) and real != h
                                                for h in _HIDDEN):
            _add(plan.readonly, real)
    return plan


def _env_args(environ: Mapping[str, str]) -> list[str]:
    home = environ.get("HOME") or os.path.expanduser("~")
    env = {MARK: "1", "HOME": _PRIVATE_HOME, "TMPDIR": "/tmp"}
    gitconfig = os.path.join(home, ".gitconfig")
    if "GIT_CONFIG_GLOBAL" not in environ and os.path.isfile(gitconfig):
        env["GIT_CONFIG_GLOBAL"] = gitconfig  # the person's git identity, read-only
    if "GIT_CONFIG_COUNT" not in environ:
        # no automatic gc (it would rewrite packed-refs) and no new reflog files
        env.update(GIT_CONFIG_COUNT="2", GIT_CONFIG_KEY_0="gc.auto", GIT_CONFIG_VALUE_0="0",
                   GIT_CONFIG_KEY_1="core.logAllRefUpdates", GIT_CONFIG_VALUE_1="false")
    # A local connection expands Ansible's `~/.ansible/tmp` against the passwd home, which
    # is read-only: point it into the private home.
    for key in ("ANSIBLE_REMOTE_TMP", "ANSIBLE_LOCAL_TEMP"):
        if key not in environ:
            env[key] = f"{_PRIVATE_HOME}/.ansible/tmp"
    if "ANSIBLE_COLLECTIONS_PATH" not in environ:
        env["ANSIBLE_COLLECTIONS_PATH"] = (f"{home}/.ansible/collections:"
                                           "/usr/share/ansible/collections")
    return [arg for key in sorted(env) for arg in ("--setenv", key, env[key])]


def bwrap_args(bwrap: str, plan: Plan, environ: Mapping[str, str] | None = None) -> list[str]:
    """``bwrap`` and its options (everything before ``--chdir``)."""
    args = [bwrap, *_BASE, *_hidden_tmpfs()]
    if plan.network:
        args.append("--share-net")
        resolv = os.path.realpath("/etc/resolv.conf")
        if any(_inside(resolv, h) for h in _HIDDEN) and os.path.exists(resolv):
            args += ["--ro-bind", resolv, resolv]
    binds = [("--ro-bind", p, p) for p in plan.readonly]
    binds += [("--bind", p, p) for p in plan.writable]
    binds += [("--bind", source, seen) for source, seen in plan.private]
    binds += [("--ro-bind", os.path.join(common, "objects"), _SEEN_OBJECTS)
              for common, _ in plan.stores[:1]]
    binds += [("--ro-bind", p, p) for p in plan.protect]
    args += [arg for bind in binds for arg in bind]
    return [*args, "--dir", _PRIVATE_HOME, *_env_args(os.environ if environ is None else environ)]


def wrap_shell(command: str, bwrap: str, plan: Plan,
               environ: Mapping[str, str] | None = None) -> str:
    """``command`` as a shell line that runs it in the sandbox, in the caller's directory."""
    head = " ".join(shlex.quote(a) for a in bwrap_args(bwrap, plan, environ))
    shell = "/bin/bash" if os.path.exists("/bin/bash") else "/bin/sh"
    return f'{head} --chdir "$PWD" -- {shell} -c {shlex.quote(command)}'


def unwrap(command: str) -> str:
    """The agent's own command inside a line made by :func:`wrap_shell` (else ``command``)."""
    if f" {MARK} 1 " not in command:
        return command
    try:
        argv = shlex.split(command)
    except ValueError:
        return command
    if len(argv) > 3 and argv[-2] == "-c" and os.path.basename(argv[0]) == "bwrap":
        return argv[-1]
    return command

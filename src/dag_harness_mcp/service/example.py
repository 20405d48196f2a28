"""The bundled example repository (``examples/ansible-repo``) copied somewhere writable as a
git repository with one commit and a bare ``origin``, for the tests and ``harness demo``: every
role of a fresh copy boxed up wave by wave through the real workflow (local forge, merge
train), auto-approved; the StateDB stays in the copy for inspection."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dag_harness_mcp.config import load_settings
from dag_harness_mcp.errors import GitError, HarnessError, NotFoundError
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.roles import sync_roles
from dag_harness_mcp.service.waves import WaveExecutor, WavePolicy, WaveRunReport

if TYPE_CHECKING:
    from dag_harness_mcp.service.waves import OnWaveEvent

__all__ = ["DemoReport", "ExampleCheckout", "demo_directory", "example_source",
           "prepare_example_checkout", "publish_repository", "run_demo"]

_IGNORED = shutil.ignore_patterns("__pycache__", ".pytest_cache", ".molecule", "*.pyc")
_IDENTITY = ("-c", "user.name=dag-harness demo", "-c", "user.email=demo@dag-harness.invalid")


@dataclass(frozen=True)
class ExampleCheckout:
    """Where the example lives: its working tree and its bare ``origin``."""

    repo_root: Path
    origin: Path


def example_source() -> Path:
    """The example tree shipped with the package (wheel) or the source checkout."""
    package_dir = Path(__file__).resolve().parents[1]
    for candidate in (
        package_dir / "_example",
        package_dir.parents[1] / "examples" / "ansible-repo",
    ):
        if (candidate / "harness.yml").is_file():
            return candidate
    raise NotFoundError(
        "the bundled example repository is missing (looked for examples/ansible-repo "
        "next to the package); reinstall dag-harness-mcp or pass --repo"
    )


def _git(cwd: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *_IDENTITY, *args], cwd=cwd, capture_output=True, text=True,
            timeout=120, check=False,
        )
    except FileNotFoundError as exc:
        raise GitError(list(args), 127, "git is not installed or not on PATH") from exc
    if done.returncode != 0:
        raise GitError(list(args), done.returncode, done.stderr)
    return done.stdout.strip()


def prepare_example_checkout(dest: Path) -> ExampleCheckout:
    """Copy the example to ``dest/repo`` as a fresh git repository with ``dest/origin.git``;
    an earlier checkout there is refused (a demo never overwrites work)."""
    repo = dest / "repo"
    origin = dest / "origin.git"
    if repo.exists() or origin.exists():
        raise HarnessError(f"{dest} already holds an example checkout; choose an empty directory")
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(example_source(), repo, ignore=_IGNORED)
    publish_repository(repo, origin, message="Example Ansible repository")
    return ExampleCheckout(repo_root=repo, origin=origin)


def publish_repository(repo: Path, origin: Path, *, message: str) -> None:
    """Make the tree at ``repo`` a git repository with one commit of everything on ``main``,
    and push it to a new bare repository ``origin`` (its ``origin`` remote)."""
    origin.parent.mkdir(parents=True, exist_ok=True)
    _git(origin.parent, "init", "--quiet", "--bare", "--initial-branch=main", str(origin))
    _git(repo, "init", "--quiet", "--initial-branch=main")
    _git(repo, "add", "--all")
    _git(repo, "commit", "--quiet", "-m", message)
    _git(repo, "remote", "add", "origin", str(origin))
    _git(repo, "push", "--quiet", "origin", "main:main")


@dataclass(frozen=True)
class DemoReport:
    directory: str
    repo_root: str
    origin: str
    database: str
    roles: int
    report: WaveRunReport


def demo_directory(given: Path | None) -> Path:
    """``given`` (created if missing), or a new temporary directory."""
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        return given.resolve()
    return Path(tempfile.mkdtemp(prefix="harness-demo-")).resolve()


async def run_demo(
    directory: Path,
    *,
    concurrency: int | None = None,
    on_event: OnWaveEvent | None = None,
    environ: dict[str, str] | None = None,
) -> DemoReport:
    """Check the example out under ``directory`` and box up every role, auto-approving."""
    from dag_harness_mcp.service.runs import Runner

    checkout = prepare_example_checkout(directory)
    # The demo's own repository, database and forge: never the caller's configuration.
    settings = load_settings({"repo_root": checkout.repo_root, "forge": "local"},
                             environ=environ if environ is not None else {})
    with HarnessApp.open(settings, actor="demo", source="cli") as app:
        sync = sync_roles(app)
        async with Runner(app) as runner:
            executor = WaveExecutor(runner, policy=WavePolicy(auto_approve=True),
                                    on_event=on_event)
            report = await executor.start(concurrency=concurrency)
        return DemoReport(
            directory=str(directory), repo_root=str(checkout.repo_root),
            origin=str(checkout.origin), database=str(settings.database_path),
            roles=sync.total, report=report,
        )

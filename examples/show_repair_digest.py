"""Show the repair pause of a real run: the failure digest an agent gets, with sizes.

The example repository's ``common`` role is broken twice (its motd template, which its
pytest checks; its message default, which its molecule verify checks), published with a
bare origin in a temporary directory and boxed up with the real molecule and pytest.
Prints each failure of the digest and its size in bytes (UTF-8 JSON), then the whole.

    .venv/bin/python examples/show_repair_digest.py      # after ./dev setup; about a minute
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from dag_harness_mcp.service.example import publish_repository

HERE = Path(__file__).resolve().parent


def _size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode("utf-8"))


def _replace(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")


def main() -> int:
    base = Path(tempfile.mkdtemp(prefix="repair-digest-"))
    repo = base / "repo"
    shutil.copytree(HERE / "ansible-repo", repo)
    role = repo / "ansible" / "roles" / "common"
    _replace(role / "templates" / "motd.j2", "Timezone:", "TZ:")  # pytest fails
    _replace(role / "defaults" / "main.yml", "Managed by dag-harness.", "Managed by ansible.")
    publish_repository(repo, base / "origin.git", message="example")
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    harness = [str(bin_dir / "harness")]
    subprocess.run([*harness, "sync"], cwd=repo, env=env, check=True, capture_output=True)
    done = subprocess.run([*harness, "box-up-role", "common", "--json"], cwd=repo, env=env,
                          capture_output=True, text=True)
    result = json.loads(done.stdout)
    print(f"status {result['status']} at {result['next_nodes']} (state in {base})")
    digest = result["interrupt"]["digest"]
    for failure in digest["failures"]:
        print(f"--- {failure['kind']} failure: {_size(failure)} bytes")
        print(json.dumps(failure, indent=1, ensure_ascii=False))
    print(f"--- the whole digest: {_size(digest)} bytes; omitted {digest['omitted']}; "
          f"{digest['more']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The DebOps corpus helper: one unpack under concurrent workers, nothing unsafe unpacked."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from support import corpus

SCRIPT = Path(corpus.__file__)


def test_concurrent_workers_unpack_the_corpus_once_and_all_get_the_whole_collection(
    debops_collection: Path, tmp_path: Path
) -> None:
    wheels = tmp_path / "corpus" / "wheels"
    wheels.mkdir(parents=True)
    # The wheel ./dev setup fetched, so this test needs no network.
    shutil.copy(corpus.corpus_dir() / "wheels" / corpus.WHEEL_NAME, wheels)
    env = {**os.environ, "DEBOPS_CORPUS_DIR": str(tmp_path / "corpus")}
    workers = [
        subprocess.Popen(
            [sys.executable, str(SCRIPT)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = [worker.communicate(timeout=120) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0, 0, 0], results
    paths = {out.strip() for out, _err in results}
    expected = tmp_path / "corpus" / "debops-3.3.2" / "ansible_collections" / "debops" / "debops"
    assert paths == {str(expected)}
    assert sum("unpacked" in err for _out, err in results) == 1
    assert (expected / "galaxy.yml").is_file()
    assert (expected / "plugins").is_dir()
    assert sorted(p.name for p in (expected / "roles").iterdir()) == sorted(
        p.name for p in (debops_collection / "roles").iterdir()
    )
    assert [p.name for p in (tmp_path / "corpus").iterdir() if p.name.startswith(".unpack")] == []


def test_a_wheel_member_that_climbs_out_of_the_corpus_is_refused_and_nothing_is_left(
    tmp_path: Path,
) -> None:
    wheel = tmp_path / corpus.WHEEL_NAME
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(
            "debops/_data/ansible/collections/ansible_collections/debops/debops/galaxy.yml", "x"
        )
        archive.writestr("debops/_data/ansible/collections/../../../escaped.txt", "owned")
    tree = tmp_path / "out" / "debops"
    tree.parent.mkdir()
    with pytest.raises(corpus.CorpusUnavailable, match="unsafe member"):
        corpus._unpack(wheel, tree)
    assert not tree.exists()
    assert list(tree.parent.iterdir()) == []
    assert not (tmp_path / "escaped.txt").exists()


def test_without_download_a_missing_corpus_says_to_run_dev_setup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEBOPS_CORPUS_DIR", str(tmp_path / "empty"))
    with pytest.raises(corpus.CorpusUnavailable, match=r"run \./dev setup"):
        corpus.debops_collection(download=False)

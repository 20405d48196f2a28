"""The failure digest: what an agent is told about failing tests, from real output.

``data/molecule_*.txt`` are real ``molecule test`` outputs (molecule 26 + ansible-core 2.19
on localhost, the example repository's ``common`` role broken three ways; paths replaced
by /work/repo). The pytest cases run real pytest and read the JUnit XML it writes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dag_harness_mcp.runner.digest import (
    PER_FAILURE_BYTES,
    TOTAL_BYTES,
    Failure,
    bound_digest,
    digest_size,
    failure_digest,
    molecule_failures,
    output_failure,
    pytest_failures,
    repair_request,
)

DATA = Path(__file__).with_name("data")
ROLE = "/work/repo/ansible/roles/common"


def _molecule(name: str) -> list[Failure]:
    return molecule_failures((DATA / f"molecule_{name}.txt").read_text(), role_dir=ROLE)


def test_a_failed_verify_assertion_names_step_task_origin_and_the_assertion() -> None:
    [failure] = _molecule("verify")

    assert failure.test == "default:verify"
    assert failure.task == "The message of the day names the harness"
    assert failure.where == "molecule/default/verify.yml:13"
    assert failure.message == "Assertion failed: 'nomatch-xyz' in (motd.content | b64decode)"


def test_a_failed_converge_task_gives_the_module_error_and_the_task_file_line() -> None:
    [failure] = _molecule("converge")

    assert (failure.test, failure.task) == (
        "default:converge", "common : Copy a file that is not there")
    assert failure.where == "tasks/main.yml:20"
    assert failure.message.startswith(
        "Unexpected AnsibleActionFail error: Could not find or access '/nonexistent/file.conf'")


def test_an_idempotence_failure_lists_the_changed_tasks_once() -> None:
    [failure] = _molecule("idem")

    assert failure.test == "default:idempotence"
    assert failure.message.startswith("not idempotent")
    assert failure.task is not None and "common : Always report a change" in failure.task


def test_ignored_failures_are_left_out_and_loop_items_and_stderr_are_named() -> None:
    output = "\n".join([
        "INFO     [default > converge] Executing",
        "TASK [web : Probe] ***",
        'fatal: [localhost]: FAILED! => {"changed": false, "msg": "probe failed"}',
        "...ignoring",
        "TASK [web : Install packages] ***",
        'failed: [localhost] (item=nginx) => {"ansible_loop_var": "item", "changed": true, '
        '"cmd": ["apt", "install", "nginx"], "item": "nginx", "msg": "non-zero return code", '
        '"rc": 100, "stderr": "E: Unable to locate package nginx", "stdout": ""}',
        "ERROR    [default > converge] Executed: Failed",
    ])

    [failure] = molecule_failures(output)

    assert (failure.test, failure.task) == ("default:converge", "web : Install packages")
    assert failure.message == (
        "(item=nginx) non-zero return code; stderr: E: Unable to locate package nginx")
    assert json.loads(failure.excerpt)["rc"] == 100


def test_an_ansible_error_outside_any_task_is_a_failure_of_its_step() -> None:
    output = (
        "INFO     [default > converge] Executing\n"
        "ERROR! the role 'missing' was not found in /work/repo/ansible/roles\n"
    )

    [failure] = molecule_failures(output)

    assert (failure.test, failure.task) == ("default:converge", None)
    assert failure.message == "the role 'missing' was not found in /work/repo/ansible/roles"


_TESTS = '''\
import pytest


def test_passes():
    assert True


def test_port():
    port = 80
    assert port == 8080, "the application listens on 8080"


class TestNames:
    def test_name(self):
        assert "web server".replace(" ", "_") == "web-server"


@pytest.fixture
def broken():
    raise RuntimeError("fixture could not start")


def test_uses_broken(broken):
    pass


def test_huge():
    assert "x" * 20000 == "y"
'''


@pytest.fixture(scope="module")
def junit(tmp_path_factory: pytest.TempPathFactory) -> str:
    role = tmp_path_factory.mktemp("role")
    (role / "tests").mkdir()
    (role / "tests" / "test_role.py").write_text(_TESTS)
    xml = role / "results.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests",
         f"--junitxml={xml}"],
        cwd=role, capture_output=True, text=True, timeout=120,
        env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PATH": "/usr/bin:/bin"},
    )
    return xml.read_text()


def test_pytest_failures_give_node_ids_assertion_messages_and_file_lines(junit: str) -> None:
    failures = {f.test: f for f in pytest_failures(junit)}

    assert sorted(failures) == [
        "tests/test_role.py::TestNames::test_name",
        "tests/test_role.py::test_huge",
        "tests/test_role.py::test_port",
        "tests/test_role.py::test_uses_broken",
    ]
    port = failures["tests/test_role.py::test_port"]
    assert port.where == "tests/test_role.py:10"
    assert port.message == "AssertionError: the application listens on 8080"
    assert ">       assert port == 8080" in port.excerpt
    assert "E       assert 80 == 8080" in port.excerpt
    broken = failures["tests/test_role.py::test_uses_broken"]
    assert broken.message.startswith("error: ") and "fixture could not start" in broken.excerpt


def test_each_failure_and_the_whole_digest_stay_within_their_bounds(junit: str) -> None:
    huge = Failure("pytest", "tests/test_role.py::test_big", "AssertionError", excerpt="E x" * 9000)
    failures = [huge, *pytest_failures(junit) * 10]  # 41 failures, the first one huge

    digest = bound_digest(failures, more="full output: `harness logs 7`")

    assert digest_size(digest) <= TOTAL_BYTES
    assert all(digest_size(f) <= PER_FAILURE_BYTES for f in digest["failures"])
    assert digest["omitted"] == 41 - len(digest["failures"]) > 0
    assert digest["more"] == "full output: `harness logs 7`"
    first = digest["failures"][0]
    assert first["test"] == huge.test and first["excerpt"].endswith(" [...]")


def test_multibyte_text_is_cut_on_character_boundaries() -> None:
    failure = Failure("pytest", "t::x", "é" * 3000, excerpt="→" * 3000)

    [entry] = bound_digest([failure], more="m", per_failure=512)["failures"]

    assert digest_size(entry) <= 512
    assert entry["message"].strip("é [.]") == ""


def test_a_command_without_finer_output_gives_its_last_lines() -> None:
    failure = output_failure("pytest", "INFO noise\ncollecting\nImportError: no module yaml\n")

    assert (failure.test, failure.message) == ("pytest", "ImportError: no module yaml")
    assert failure.excerpt == "collecting"


def test_the_repair_request_merges_the_failed_kinds_digests_under_one_bound() -> None:
    big = {"failures": [{"kind": "pytest", "test": f"t{i}", "message": "m" * 1500}
                        for i in range(6)], "omitted": 2, "more": "x"}
    state = {
        "execution_id": 3, "role_name": "web", "worktree_path": "/wt/web",
        "worktree_role_path": "/wt/web/ansible/roles/web", "failed_kinds": ["pytest"],
        "pytest_result": {"digest": big}, "repair_round": 1, "repair_round_limit": 2,
    }

    request = repair_request(state)

    assert (request["kind"], request["round"], request["rounds"]) == ("repair", 2, 2)
    assert request["role_dir"] == "/wt/web/ansible/roles/web"
    assert "resume_execution(execution_id=3)" in request["next_step"]
    assert digest_size(request["digest"]) <= TOTAL_BYTES
    assert request["digest"]["omitted"] == 2 + 6 - len(request["digest"]["failures"])
    assert failure_digest(state) == request["digest"]


def test_a_failed_step_without_a_failing_task_is_still_named() -> None:
    output = ("INFO     [default > converge] Executed: Successful\n"
              "INFO     [default > verify] Executed: Failed\n")

    [failure] = molecule_failures(output)

    assert (failure.test, failure.message) == (
        "default:verify", "the step failed; no failing task in its output")


def test_output_of_only_log_lines_is_kept_rather_than_lost() -> None:
    failure = output_failure("molecule", "INFO     one\nWARNING  two\n")

    assert (failure.message, failure.excerpt) == ("WARNING  two", "INFO     one")

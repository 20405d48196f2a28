"""Bash commands are parsed into argv lists: denials and file detection are not substrings."""

from __future__ import annotations

import pytest

from dag_harness_mcp.hooks.bash import dangerous, file_changes, matches, parse

MAIN = {"main", "master"}


def _argvs(command: str) -> list[list[str]]:
    return [c.argv for c in parse(command)]


def test_commands_split_at_operators_newlines_and_substitutions() -> None:
    assert _argvs("a 1 && b '2 3' || c; d | e & f\ng") == [
        ["a", "1"], ["b", "2 3"], ["c"], ["d"], ["e"], ["f"], ["g"]]
    argvs = _argvs('echo "$(rm -rf /tmp/x)" `whoami` <(cat y)')
    assert ["rm", "-rf", "/tmp/x"] in argvs and ["whoami"] in argvs and ["cat", "y"] in argvs


def test_wrappers_assignments_and_nested_shells_are_unwrapped() -> None:
    argvs = _argvs("FOO=1 sudo -u root env -i BAR=2 nohup timeout -s KILL 5 git push -f")
    assert argvs[0] == ["git", "push", "-f"]
    assert ["git", "push", "--force"] in _argvs("bash -c 'cd x && git push --force'")
    assert ["rm", "-rf", "/"] in _argvs("eval rm -rf /")


def test_unbalanced_quotes_raise_value_error() -> None:
    with pytest.raises(ValueError):
        parse("echo 'oops")


@pytest.mark.parametrize(("command", "expected"), [
    ("git push --force", "force"),
    ("git push origin +main:feature", "force"),
    ("git push origin feature:main", "default branch"),
    ("git push origin refs/heads/master", "default branch"),
    ("git push origin :main", "default branch"),
    ("git push --all origin", "--all"),
    ("rm --no-preserve-root -rf /", "no-preserve-root"),
    ("rm -R /home", "recursive delete"),
    ("find /usr -exec /bin/rm {} ;", "delete action"),
    ("chmod -R 777 /", "recursive chmod"),
    ("dd if=/dev/zero of=/dev/sda", "device"),
    ("mkfs.ext4 /dev/sdb1", "formats"),
])
def test_dangerous_commands_are_named(command: str, expected: str) -> None:
    reasons = [dangerous(c, MAIN) for c in parse(command)]
    assert any(r and expected in r for r in reasons), reasons


@pytest.mark.parametrize("command", [
    "git push --force-with-lease origin feature",
    "git push -u origin feature",
    "git push origin HEAD",
    "rm -f /tmp/x",
    "rm -r ./build",
    "find / -name x",
    "git status --force",
    "dd if=x of=/dev/null",
])
def test_safe_commands_are_not_dangerous(command: str) -> None:
    assert all(dangerous(c, MAIN) is None for c in parse(command))


def test_patterns_match_argv_prefixes_with_globs() -> None:
    assert matches("git push *", ["/usr/bin/git", "push", "origin"])
    assert matches("git", ["git", "status"])
    assert matches("pytest -q *", ["pytest", "-q"])
    assert not matches("git push", ["git", "pull"])
    assert not matches("/usr/bin/git", ["git"])
    assert matches("*", ["anything"])
    assert not matches("'unbalanced", ["x"])


def test_file_changes_resolve_relative_paths_and_skip_devices() -> None:
    got = file_changes(parse("cat a > ../b; echo x 2>/dev/null >&2; cp -t dest f1 f2"), "/w/p")
    assert got == [("/w/b", "write"), ("/w/p/f2", "copy")]
    assert file_changes(parse("sed -e s/a/b/ -i f.txt g.txt"), "/r") == [
        ("/r/f.txt", "edit"), ("/r/g.txt", "edit")]

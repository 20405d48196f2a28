"""A bounded failure digest an agent can act on, from a test run's stored output: pytest's
JUnit XML, molecule's output, or any command's last lines; each failure at most
:data:`PER_FAILURE_BYTES` and the whole at most :data:`TOTAL_BYTES` of UTF-8 JSON.

What a run paused for repair asks of the agent comes from the run's state alone: the
interrupt's payload, ``get_execution``'s ``repair`` field and the failure report agree."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import takewhile
from typing import Any

from dag_harness_mcp.runner.results import ANSI, MOLECULE_STEP

__all__ = ["NO_DECISION", "PER_FAILURE_BYTES", "TOTAL_BYTES", "Failure", "bound_digest",
           "digest_size", "failure_digest", "logs_hint", "molecule_failures", "output_failure",
           "pytest_failures", "repair_request", "scaffold_request"]

PER_FAILURE_BYTES = 2048
TOTAL_BYTES = 8192

_LOCATION = re.compile(r"^(?P<file>[^\s:][^:]*):(?P<line>\d+): ")
_STEP = re.compile(r"\[(?P<scenario>[\w.\-]+)\s+(?:➜|>)\s+(?P<step>[\w\-]+)\]\s+Executing\b")
_TASK = re.compile(r"^(?:TASK|RUNNING HANDLER) \[(?P<task>.*)\] \**\s*$")
_FATAL = re.compile(r"^(?:fatal|failed): \[(?P<host>[^\]]+)\](?: \(item=(?P<item>.*?)\))?"
                    r":? (?:(?:FAILED|UNREACHABLE)! )?=> (?P<rest>.*)$")
_ANSIBLE_ERROR = re.compile(r"^(?:\[ERROR\]: |ERROR! )(?P<message>.*)$")
_ORIGIN = re.compile(r"^Origin: (?P<path>.+?):(?P<line>\d+)(?::\d+)?\s*$")
_IDEMPOTENCE = "Idempotence test failed because of the following tasks:"
_CHANGED_TASK = re.compile(r"^\*\s+=>\s+(?P<task>.+)$")
_NOISE = re.compile(r"^(?:INFO|WARNING|DEBUG)\s")
# What an excerpt keeps of a module result (msg and assertion are in the message already).
_RESULT_KEYS = ("evaluated_to", "rc", "cmd", "stderr", "stdout", "reason")


@dataclass(frozen=True)
class Failure:
    """One failing test (pytest) or failing task/step (molecule)."""

    kind: str  # pytest | molecule | the test kind of another command
    test: str  # test id, or molecule's <scenario>:<step>
    message: str  # assertion message / the module's error
    where: str | None = None  # file:line of the failure
    task: str | None = None  # molecule: the failing task
    excerpt: str = ""  # the lines that show it (pytest: > and E lines; molecule: the result)

    def as_dict(self) -> dict[str, str]:
        pairs = (("kind", self.kind), ("test", self.test), ("task", self.task),
                 ("where", self.where), ("message", self.message), ("excerpt", self.excerpt))
        return {k: v or "" for k, v in pairs if v or k in ("kind", "test", "message")}


def digest_size(digest: Any) -> int:
    """Bytes of ``digest`` as UTF-8 JSON (the measure the bounds use)."""
    return len(json.dumps(digest, ensure_ascii=False).encode("utf-8"))


def _cut(text: str, limit: int) -> str:
    """``text`` shortened to at most ``limit`` UTF-8 bytes, marked where it was cut."""
    if len(text.encode("utf-8")) <= limit:
        return text
    return text.encode("utf-8")[:max(0, limit - 6)].decode("utf-8", "ignore") + " [...]"


def _relative(path: str, base: str | None) -> str:
    if base and path.startswith(base.rstrip("/") + "/"):
        return path[len(base.rstrip("/")) + 1 :]
    return path


def _pytest_excerpt(text: str) -> tuple[str, str | None]:
    """The failing frame's source and ``E`` lines, and the crash location ``file:line``."""
    lines = text.splitlines()
    where = next((f"{m['file']}:{m['line']}" for m in map(_LOCATION.match, reversed(lines))
                  if m), None)
    e_rows = [i for i, line in enumerate(lines) if line.startswith("E ")]
    if not e_rows:
        tail = [ln for ln in lines if ln.strip()][-8:]
        return "\n".join(tail), where
    end = e_rows[-1]
    start = end
    while start > 0 and lines[start - 1].startswith("E "):
        start -= 1
    frame_start = start
    while frame_start > 0 and lines[frame_start - 1].strip() and start - frame_start < 6:
        frame_start -= 1
    shown = [ln.rstrip() for ln in lines[frame_start : end + 1]]
    return "\n".join(ln for ln in shown if ln.strip()), where


def _node_id(classname: str, name: str, where: str | None) -> str:
    """pytest's node id (``tests/test_x.py::TestY::test_z``) when the failure's file is the
    test's module, so the agent can re-run just that test; else ``classname::name``."""
    path = where.rsplit(":", 1)[0] if where else ""
    if path.endswith(".py") and classname:
        parts, module = classname.split("."), path[:-3].split("/")
        for i in range(len(parts) - len(module), -1, -1):  # the rightmost match
            if parts[i : i + len(module)] == module:
                return "::".join([path, *parts[i + len(module) :], name])
    return f"{classname}::{name}" if classname else name


def pytest_failures(junit_xml: str, *, kind: str = "pytest") -> list[Failure]:
    """Every failing or erroring ``<testcase>`` of pytest's JUnit XML, in file order."""
    try:
        root = ET.fromstring(junit_xml)  # a file our own pytest child wrote
    except ET.ParseError:
        return []
    out: list[Failure] = []
    for case in root.iter("testcase"):
        bad = next((e for e in (case.find("failure"), case.find("error")) if e is not None), None)
        if bad is None:
            continue
        excerpt, where = _pytest_excerpt(bad.text or "")
        if where is None and case.get("file"):
            where = f"{case.get('file')}:{case.get('line', '?')}"
        test = _node_id(case.get("classname", ""), case.get("name", ""), where)
        message = (bad.get("message") or "").strip() or (excerpt.splitlines() or [""])[-1]
        message = message.splitlines()[0] if message else "failed"
        if bad.tag == "error" and not message.lower().startswith("error"):
            message = f"error: {message}"
        out.append(Failure(kind, test, message, where, None, excerpt))
    return out


def _result_message(raw: str) -> tuple[str, str]:
    """A module result (JSON, maybe not) as (its error message, a compact excerpt)."""
    data = _parsed(raw)
    if not isinstance(data, dict):
        return raw.strip(), ""
    message = str(data.get("msg") or data.get("reason") or "").strip()
    if data.get("assertion"):
        message = f"{message or 'Assertion failed'}: {data['assertion']}"
    stderr = str(data.get("stderr") or "").strip()
    if stderr and stderr not in message:
        message = f"{message}; stderr: {stderr.splitlines()[-1]}" if message else stderr
    kept = {k: data[k] for k in _RESULT_KEYS if data.get(k) not in (None, "", [])}
    return message or "task failed", json.dumps(kept, ensure_ascii=False) if kept else ""


def _json_block(lines: Sequence[str], start: int, first: str) -> tuple[str, int]:
    """A module result starting on the ``FAILED! =>`` line (index ``start``) that may span
    more lines; returns it and the index of its last line."""
    if _parsed(first) is not _UNPARSED:
        return first, start
    block = [first]
    end = start
    for end in range(start + 1, min(len(lines), start + 400)):
        block.append(lines[end])
        if lines[end].rstrip() == "}" and _parsed("\n".join(block)) is not _UNPARSED:
            break
    return "\n".join(block), end


_UNPARSED = object()


def _parsed(text: str) -> Any:
    """``text`` decoded as JSON, or :data:`_UNPARSED`."""
    try:
        return json.loads(text)
    except ValueError:
        return _UNPARSED


def molecule_failures(output: str, *, role_dir: str | None = None,
                      kind: str = "molecule") -> list[Failure]:
    """The failing tasks of molecule's output (task, the module's error, scenario step,
    ``Origin`` relative to ``role_dir``), without ignored ones; an idempotence failure names
    the changed tasks; an Ansible error outside any task is a failure of its step."""
    lines = ANSI.sub("", output).splitlines()
    step = "molecule"
    task: str | None = None
    origin: str | None = None
    out: list[Failure] = []
    index = -1
    while index + 1 < len(lines):
        index += 1
        line = lines[index]
        if (m := _STEP.search(line)) is not None:
            step = f"{m['scenario']}:{m['step']}"
            task, origin = None, None
            continue
        if (m := _TASK.match(line)) is not None:
            task, origin = m["task"].strip(), None
            continue
        if (m := _ANSIBLE_ERROR.match(line)) is not None:
            if task is None:  # not about a task: a syntax error, a missing role, ...
                out.append(Failure(kind, step, m["message"].strip()))
            continue
        if (m := _ORIGIN.match(line)) is not None:
            origin = f"{_relative(m['path'], role_dir)}:{m['line']}"
            continue
        if (m := _FATAL.match(line)) is not None:
            block, index = _json_block(lines, index, m["rest"])
            following = next((ln for ln in lines[index + 1 :] if ln.strip()), "")
            if following.startswith("...ignoring"):
                continue
            message, excerpt = _result_message(block)
            if m["item"]:
                message = f"(item={m['item']}) {message}"
            out.append(Failure(kind, step, message, origin, task, excerpt))
            continue
        if (m := MOLECULE_STEP.search(line)) is not None and m["state"] == "Failed":
            failed_step = f"{m['scenario']}:{m['step']}"
            if not any(f.test == failed_step for f in out):  # no failing task was shown
                out.append(Failure(kind, failed_step, "the step failed; no failing task in "
                                   "its output"))
            continue
        if _IDEMPOTENCE in line:
            matches = map(_CHANGED_TASK.match, (ln.strip() for ln in lines[index + 1:]))
            changed = [c["task"].strip() for c in takewhile(bool, matches) if c]
            # (molecule's closing summary repeats it)
            if not any(f.message.startswith("not idempotent") for f in out):
                out.append(Failure(
                    kind, step, "not idempotent: these tasks report a change on the second run",
                    None, ", ".join(changed) or None, ""))
    return out


def output_failure(kind: str, output: str, *, lines: int = 15) -> Failure:
    """When nothing finer can be read: the command's last meaningful lines."""
    every = [ln.rstrip() for ln in ANSI.sub("", output).splitlines() if ln.strip()]
    kept = [ln for ln in every if not _NOISE.match(ln)][-lines:] or every[-lines:]
    message = kept[-1] if kept else "the command failed without output"
    return Failure(kind, kind, message, None, None, "\n".join(kept[:-1]))


def _bounded_entry(failure: Failure | Mapping[str, str], limit: int) -> dict[str, str]:
    """The failure as a dict of at most ``limit`` bytes: its longest texts cut first."""
    entry = failure.as_dict() if isinstance(failure, Failure) else {
        str(k): str(v) for k, v in failure.items()}
    while (over := digest_size(entry) - limit) > 0:
        key = max(("excerpt", "message", "task", "test", "where"),
                  key=lambda k: len(entry.get(k, "").encode("utf-8")))
        length = len(entry[key].encode("utf-8"))
        if length <= 16:
            entry.pop("excerpt", None)
            break
        # JSON escapes make the encoded text at least as long as the raw text, so cutting
        # ``over`` raw bytes (plus the marker) removes at least ``over`` encoded bytes.
        entry[key] = _cut(entry[key], max(16, length - over - 8))
    return entry


def bound_digest(failures: Sequence[Failure | Mapping[str, str]], *, more: str,
                 per_failure: int = PER_FAILURE_BYTES, total: int = TOTAL_BYTES
                 ) -> dict[str, Any]:
    """``{"failures": [...], "omitted": n, "more": ...}``: each failure at most
    ``per_failure`` bytes, the whole at most ``total`` bytes; failures that do not fit
    are counted in ``omitted`` and ``more`` says where their full output is."""
    digest: dict[str, Any] = {"failures": [], "omitted": 0, "more": _cut(more, 256)}
    kept: list[dict[str, str]] = digest["failures"]
    for failure in failures:
        kept.append(_bounded_entry(failure, per_failure))
        if digest_size(digest) > total:
            kept.pop()
            digest["omitted"] += 1
    if digest["omitted"] and digest_size(digest) > total:  # the count's digits tipped it over
        kept.pop()
        digest["omitted"] += 1
    return digest


# Interrupts resumed without a decision: the agent's edits in the worktree are the answer.
NO_DECISION = ("repair", "scaffold_tests")


def logs_hint(execution_id: int | None, kind: str | None = None) -> str:
    which = f" (the {kind} output)" if kind else ""
    return f"full output: `harness logs {execution_id}`{which}"


def failure_digest(state: Mapping[str, Any], *, total: int = TOTAL_BYTES) -> dict[str, Any]:
    """The digests of the kinds that failed, merged under one bound of ``total`` bytes."""
    entries: list[dict[str, str]] = []
    omitted = 0
    for kind in state.get("failed_kinds") or []:
        result = state.get(f"{kind}_result")
        digest = result.get("digest") if isinstance(result, Mapping) else None
        if not isinstance(digest, Mapping):  # (a run paused before digests existed)
            tail = str(result.get("output_tail") or "") if isinstance(result, Mapping) else ""
            entries.append({"kind": kind, "test": kind, "message": tail[-1500:] or "failed"})
            continue
        entries.extend(dict(e) for e in digest.get("failures") or [])
        omitted += int(digest.get("omitted") or 0)
    merged = bound_digest(entries, more=logs_hint(state.get("execution_id")), total=total)
    merged["omitted"] += omitted
    return merged


def repair_request(state: Mapping[str, Any]) -> dict[str, Any]:
    """The repair pause: where to edit, what failed, which round, and the next step."""
    execution_id = state.get("execution_id")
    done = int(state.get("repair_round") or 0)
    limit = int(state.get("repair_round_limit") or 0)
    return {
        "kind": "repair", "execution_id": execution_id, "role": state.get("role_name"),
        "round": done + 1, "rounds": limit, "worktree": state.get("worktree_path"),
        "role_dir": state.get("worktree_role_path"),
        "failed_kinds": list(state.get("failed_kinds") or []), "digest": failure_digest(state),
        "next_step": (
            "fix the role by editing files inside role_dir only (run its tests there if "
            f"useful), then resume_execution(execution_id={execution_id}) with no decision "
            "to re-test; never approve"
        ),
    }


def scaffold_request(state: Mapping[str, Any]) -> dict[str, Any]:
    """The pause of an untested role (``scaffold_tests: ask``): where to add tests."""
    execution_id = state.get("execution_id")
    return {
        "kind": "scaffold_tests", "execution_id": execution_id, "role": state.get("role_name"),
        "worktree": state.get("worktree_path"), "role_dir": state.get("worktree_role_path"),
        "missing": "a molecule scenario (molecule/<name>/molecule.yml) or a pytest suite "
                   "(tests/test_*.py)",
        "next_step": (
            "add a molecule scenario or a pytest suite inside role_dir only (run it there if "
            f"useful), then resume_execution(execution_id={execution_id}) with no decision; "
            "resuming without adding any goes on untested"
        ),
    }

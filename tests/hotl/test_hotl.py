"""HOTL runs over the real workflow with fast probe tests, notifying a real webhook
receiver on 127.0.0.1 (http.server in a thread) and a log file."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from dag_harness_mcp.config import HotlSettings, Settings
from dag_harness_mcp.service.app import HarnessApp
from dag_harness_mcp.service.hotl import (
    HotlReport,
    HotlStop,
    approval_decision,
    hotl_status,
    run_hotl,
    stop_hotl,
)
from dag_harness_mcp.service.notify import Notice, discord_payload
from dag_harness_mcp.service.roles import sync_roles
from dag_harness_mcp.service.runs import Runner
from dag_harness_mcp.service.waves import WaveEvent
from support.waverepo import WaveRepo, build_wave_repo

MakeSettings = Callable[..., Settings]
# The receiver runs in this process, so under load (a full CI run on two cores, other roles
# still running) it can answer after the 5 s default webhook timeout: the attempt is then
# recorded as "TimeoutError" and the late handler adds its body after the test has looked.
# A slow receiver is not what these tests are about; they give it time to answer.
SLOW_RECEIVER_S = 60.0


class Receiver:
    """A webhook endpoint: stores every JSON body, answers with ``status``."""

    def __init__(self, status: int = 204) -> None:
        self.status = status
        self.bodies: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                outer.bodies.append({"body": body, "type": self.headers["Content-Type"]})
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/webhooks/1/secret"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def events(self) -> list[str]:
        return [b["body"]["embeds"][0]["footer"]["text"].removeprefix("event: ")
                for b in self.bodies]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    hook = Receiver()
    hook.thread.start()
    yield hook
    hook.server.shutdown()
    hook.server.server_close()


def _open(settings_for: MakeSettings, repo: WaveRepo) -> HarnessApp:
    app = HarnessApp.open(settings_for(repo.root))
    sync_roles(app)
    return app


async def _hotl(
    app: HarnessApp, limits: HotlSettings, *, concurrency: int = 2,
    on_event: Callable[[WaveEvent], Any] | None = None,
) -> HotlReport:
    async def forward(event: WaveEvent) -> None:
        if on_event is not None:
            on_event(event)

    async with Runner(app) as runner:
        return await run_hotl(runner, limits, concurrency=concurrency, on_event=forward)


def _roles(report: HotlReport) -> dict[str, str]:
    return {r.role: r.status for r in report.wave_run.roles}


async def test_hotl_approves_passing_roles_and_notifies_a_failure_through_the_webhook(
    tmp_path: Path, settings_for: MakeSettings, receiver: Receiver
) -> None:
    repo = build_wave_repo(
        tmp_path, {"common": [], "broken": [], "web": ["common"], "db": ["broken"]},
        failing={"broken"})
    app = _open(settings_for, repo)
    try:
        report = await _hotl(app, HotlSettings(webhook_url=receiver.url,
                                               webhook_timeout=SLOW_RECEIVER_S))
        common = app.db.executions.list(role="common")[0]
        decisions = [a for a in app.db.audit.list(entity_type="execution")
                     if a["action"] == "wave_run.decision"]
        notes = app.db.hotl.notifications(report.hotl_run_id)
        status = hotl_status(app)
    finally:
        app.close()

    assert _roles(report) == {"common": "completed", "broken": "failed", "web": "completed",
                              "db": "blocked"}
    assert (report.status, report.stop_reason) == ("failed", "1 role(s) failed")
    assert json.loads(common["result"])["approval_comment"] == (
        "auto-approved by HOTL: pytest passed, no regressions")
    assert len(decisions) == 2  # the policy, not auto_approve, approved both
    assert receiver.events() == ["role_failed", "run_finished"]
    failed = receiver.bodies[0]
    assert failed["type"] == "application/json"
    assert failed["body"]["username"] == "dag-harness"
    assert failed["body"]["content"].startswith("**broken failed**: tests failed: pytest")
    embed = failed["body"]["embeds"][0]
    assert embed["title"] == "broken failed" and embed["color"] == 0xC0392B
    assert {"name": "role", "value": "broken", "inline": True} in embed["fields"]
    assert [(n["channel"], n["delivered"]) for n in notes] == [("webhook", 1), ("webhook", 1)]
    assert status.policy["webhook_url"] == f"http://127.0.0.1:{receiver.server.server_address[1]}"
    assert (status.roles_done, status.failures, status.alive) == (2, 1, False)


async def test_a_role_without_tests_pauses_notifies_and_resume_continues_after_approval(
    tmp_path: Path, settings_for: MakeSettings, receiver: Receiver
) -> None:
    repo = build_wave_repo(tmp_path, {"tested": [], "untested": [], "child": ["untested"]},
                           untested={"untested"})
    app = _open(settings_for, repo)
    limits = HotlSettings(webhook_url=receiver.url, webhook_timeout=SLOW_RECEIVER_S)
    try:
        first = await _hotl(app, limits)
        paused = next(r for r in first.wave_run.roles if r.role == "untested")
        notes = app.db.hotl.notifications(first.hotl_run_id)
        async with Runner(app) as runner:
            approved = await runner.resume(paused.execution_id, approved=True,
                                           comment="looked at it")
            second = await run_hotl(runner, limits, resume=True)
    finally:
        app.close()

    assert _roles(first) == {"tested": "completed", "untested": "paused", "child": "blocked"}
    assert (first.status, first.stop_reason) == ("stopped", "1 role(s) wait for a decision")
    # What the harness recorded of each attempt first: a failed one names its error.
    assert [(n["event"], n["delivered"], n["error"]) for n in reversed(notes)] == [
        ("role_paused", 1, None), ("run_finished", 1, None)]
    assert receiver.events()[:2] == ["role_paused", "run_finished"]
    note = receiver.bodies[0]["body"]
    assert note["embeds"][0]["title"] == "untested needs a person"
    assert note["content"].startswith("**untested needs a person**: untested role (no molecule")
    assert "allow_untested" in note["content"] and "waits for" in note["content"]
    assert approved.status == "completed"
    assert second.wave_run.wave_run_id == first.wave_run.wave_run_id
    assert _roles(second) == dict.fromkeys(("tested", "untested", "child"), "completed")
    assert second.status == "completed"


async def test_hotl_with_allow_untested_approves_the_untested_role_and_its_dependant_runs(
    tmp_path: Path, settings_for: MakeSettings, receiver: Receiver
) -> None:
    repo = build_wave_repo(tmp_path, {"untested": [], "child": ["untested"]},
                           untested={"untested"})
    app = _open(settings_for, repo)
    try:
        report = await _hotl(app, HotlSettings(webhook_url=receiver.url, allow_untested=True,
                                                webhook_timeout=SLOW_RECEIVER_S))
        row = app.db.hotl.require(report.hotl_run_id)
    finally:
        app.close()
    assert _roles(report) == {"untested": "completed", "child": "completed"}
    assert '"allow_untested": true' in row["policy"]


async def test_a_failing_webhook_never_stops_the_run_and_the_log_file_gets_every_notice(
    tmp_path: Path, settings_for: MakeSettings, receiver: Receiver
) -> None:
    receiver.status = 500
    repo = build_wave_repo(tmp_path, {"a": [], "b": [], "c": ["a"]}, failing={"b"})
    app = _open(settings_for, repo)
    try:
        report = await _hotl(app, HotlSettings(webhook_url=receiver.url,
                                               log_file="logs/hotl.jsonl",
                                               webhook_timeout=SLOW_RECEIVER_S))
        notes = app.db.hotl.notifications(report.hotl_run_id)
    finally:
        app.close()

    assert _roles(report) == {"a": "completed", "b": "failed", "c": "completed"}
    # The recorded errors first: a timeout instead of the 500 shows here, not as a lost body.
    webhook = [n for n in notes if n["channel"] == "webhook"]
    assert sorted((n["event"], n["delivered"]) for n in webhook) == [
        ("role_failed", 0), ("run_finished", 0)]
    assert all("500" in (n["error"] or "") for n in webhook), webhook
    assert receiver.events() == ["role_failed", "run_finished"]
    lines = [json.loads(x) for x in (repo.root / "logs" / "hotl.jsonl").read_text().splitlines()]
    assert [x["event"] for x in lines] == ["role_failed", "run_finished"]
    assert lines[0]["fields"]["role"] == "b" and lines[1]["level"] == "error"


async def test_max_roles_starts_no_more_roles_and_ends_limit_reached(
    tmp_path: Path, settings_for: MakeSettings
) -> None:
    repo = build_wave_repo(tmp_path, {"a": [], "b": [], "c": []})
    app = _open(settings_for, repo)
    try:
        report = await _hotl(app, HotlSettings(max_roles=2, log_file=str(tmp_path / "h.log")),
                             concurrency=1)
        rows = {r["role_name"]: r for r in app.db.waves.roles(report.wave_run.wave_run_id)}
    finally:
        app.close()

    assert _roles(report) == {"a": "completed", "b": "completed", "c": "skipped"}
    assert rows["c"]["reason"] == "max_roles 2 reached"
    assert (report.status, report.stop_reason) == ("limit_reached", "max_roles 2 reached")
    assert report.wave_run.status == "interrupted"


async def test_max_failures_skips_independent_roles_after_the_limit(
    tmp_path: Path, settings_for: MakeSettings
) -> None:
    repo = build_wave_repo(tmp_path, {"bad": [], "ok": [], "later": []}, failing={"bad"})
    app = _open(settings_for, repo)
    try:
        report = await _hotl(app, HotlSettings(max_failures=1), concurrency=1)
    finally:
        app.close()

    assert _roles(report) == {"bad": "failed", "later": "skipped", "ok": "skipped"}
    assert (report.status, report.stop_reason) == ("limit_reached", "max_failures 1 reached")


async def test_max_cost_counts_usage_recorded_since_the_run_began(
    tmp_path: Path, settings_for: MakeSettings
) -> None:
    repo = build_wave_repo(tmp_path, {"a": [], "b": []})
    app = _open(settings_for, repo)
    app.db.costs.record([("old", "m0", "claude", 1, 1, 0, 0, 9.0, "2020-01-01T00:00:00.000Z")])

    def spend(event: WaveEvent) -> None:
        if event.kind == "role_finished" and event.status == "completed":
            app.db.costs.record([("s1", f"m-{event.role}", "claude", 1, 1, 0, 0, 0.6, None)])

    try:
        report = await _hotl(app, HotlSettings(max_cost_usd=0.5), concurrency=1, on_event=spend)
        row = app.db.hotl.require(report.hotl_run_id)
    finally:
        app.close()

    assert _roles(report) == {"a": "completed", "b": "skipped"}
    assert report.stop_reason == "max_cost_usd 0.5 reached (spent 0.6000)"
    assert row["cost_usd"] == pytest.approx(0.6)


async def test_stop_request_lets_the_running_role_finish_and_starts_no_more(
    tmp_path: Path, settings_for: MakeSettings
) -> None:
    repo = build_wave_repo(tmp_path, {"a": [], "b": [], "c": []})
    app = _open(settings_for, repo)
    asked: list[HotlStop] = []

    def stop_after_first(event: WaveEvent) -> None:
        if event.kind == "role_finished" and not asked:
            asked.append(stop_hotl(app))

    try:
        report = await _hotl(app, HotlSettings(), concurrency=1, on_event=stop_after_first)
    finally:
        app.close()

    assert asked == [HotlStop([report.hotl_run_id], "harness hotl stop")]
    assert _roles(report) == {"a": "completed", "b": "skipped", "c": "skipped"}
    assert (report.status, report.stop_reason) == (
        "stopped", "stopped on request: harness hotl stop")


def test_hotl_status_and_stop_through_the_cli(
    tmp_path: Path, settings_for: MakeSettings
) -> None:
    repo = build_wave_repo(tmp_path, {"a": []})
    harness = Path(sys.executable).with_name("harness")
    env_args = ["--repo", str(repo.root), "--db", str(tmp_path / "state" / "harness.db")]

    none_yet = subprocess.run([str(harness), *env_args, "hotl", "status"],
                              capture_output=True, text=True, timeout=120)
    stop = subprocess.run([str(harness), *env_args, "hotl", "stop"],
                          capture_output=True, text=True, timeout=120)
    app = HarnessApp.open(settings_for(repo.root))
    hotl_id = app.db.hotl.create(policy={"max_failures": 3}, pid=None)
    app.close()
    status = subprocess.run([str(harness), *env_args, "hotl", "status", "--json"],
                            capture_output=True, text=True, timeout=120)

    assert none_yet.returncode == 2 and "harness hotl start" in none_yet.stderr
    assert stop.returncode == 2 and "no HOTL run is running" in stop.stderr
    assert status.returncode == 0, status.stderr
    info = json.loads(status.stdout)
    assert (info["id"], info["status"], info["alive"]) == (hotl_id, "running", False)


def test_a_detached_hotl_run_stops_when_another_process_asks(tmp_path: Path) -> None:
    repo = build_wave_repo(tmp_path, {"a": [], "b": [], "c": []})
    repo.hang("a")
    harness = Path(sys.executable).with_name("harness")
    base = [str(harness), "--repo", str(repo.root), "--db", str(tmp_path / "state" / "h.db")]

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*base, *args], capture_output=True, text=True, timeout=120)

    assert cli("sync").returncode == 0
    started = cli("hotl", "start", "--concurrency", "1", "--detach", "--json")
    assert started.returncode == 0, started.stderr
    child = json.loads(started.stdout)
    try:
        _poll(lambda: repo.hung("a"), Path(child["log"]))
        stop = cli("hotl", "stop", "--json")
        repo.release("a")
        _poll(lambda: json.loads(cli("hotl", "status", "--json").stdout)["status"]
              not in ("running", "stopping"), Path(child["log"]))
    finally:
        _kill(int(child["pid"]))
    info = json.loads(cli("hotl", "status", "--json").stdout)

    assert json.loads(stop.stdout)["stopping"] == [info["id"]]
    assert (info["status"], info["stop_reason"]) == (
        "stopped", "stopped on request: harness hotl stop")
    assert {r["role_name"]: r["status"] for r in info["wave_run"]["roles"]} == {
        "a": "completed", "b": "skipped", "c": "skipped"}
    assert info["pid"] is None and info["alive"] is False


def _poll(condition: Callable[[], bool], log: Path) -> None:
    deadline = time.monotonic() + 180
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting: {log.read_text()[-2000:]}"
        time.sleep(0.2)


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def test_approval_needs_tests_that_all_passed_and_no_regressions() -> None:
    passed = {"kind": "pytest", "status": "passed"}
    assert approval_decision({"tests": [passed, {**passed, "kind": "molecule"}]}) == (
        True, "auto-approved by HOTL: pytest, molecule passed, no regressions")
    assert approval_decision({"tests": []}) is None
    assert approval_decision({"tests": [passed], "regressions": ["pytest: t1"]}) is None
    assert approval_decision({"tests": [passed, {"kind": "molecule", "status": "failed"}]}) is None


def test_discord_payload_respects_discord_s_length_limits() -> None:
    notice = Notice("role_failed", "t" * 300, "m" * 5000, "error",
                    {f"k{i}": "v" * 2000 for i in range(30)})

    body = discord_payload(notice)

    assert len(body.content) == 2000
    embed = body.embeds[0]
    assert (len(embed.title), len(embed.description)) == (256, 4096)
    assert len(embed.fields) == 25
    assert all(len(f.value) == 1024 for f in embed.fields)
    assert embed.footer == {"text": "event: role_failed"}

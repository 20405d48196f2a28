"""A GitLab-REST-v4-compatible HTTP server on 127.0.0.1 for the forge tests.

python-gitlab talks to it over real HTTP. It checks ``PRIVATE-TOKEN`` (401),
answers unknown projects/objects with 404, duplicate open MRs with 409,
validation failures with 422, paginates with GitLab's headers (``X-Total``,
``X-Total-Pages``, ``X-Page``, ``X-Per-Page``, ``X-Next-Page``, ``Link``) and
injects faults per route: status bursts (429 with ``Retry-After`` as Rack::Attack
answers it, 502/503 as proxy HTML pages, any other status with GitLab's message),
slow answers, answers held until the test releases them, dropped connections,
before or after the request took effect. It logs every request with its
server-side arrival time and counts creates, written 201 answers and finished
requests, so tests wait on events instead of clocks.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode

from .gitlab_model import ApiError, Project

__all__ = ["FakeGitLab", "Fault", "RequestRecord"]

TOKEN = "glpat-fake-SECRET-0123456789"


@dataclass(frozen=True)
class Fault:
    """One injected misbehaviour, consumed by the next matching request.

    ``kind``: ``status`` (answer ``status`` with GitLab's error body, plus
    ``retry_after`` for 429), ``slow`` (answer after ``delay`` seconds), ``hold``
    (answer only once the test calls :meth:`FakeGitLab.release_held`), ``drop``
    (close the socket without an answer). With ``after_commit`` the request
    takes effect first (an issue really is created), then the fault hits.
    ``echo_token`` puts the request's token into the error body.
    """

    kind: str
    status: int = 503
    retry_after: str | None = None
    delay: float = 2.0
    after_commit: bool = False
    echo_token: bool = False

    @classmethod
    def burst(cls, status: int, count: int, retry_after: str | None = None) -> list[Fault]:
        return [cls("status", status=status, retry_after=retry_after) for _ in range(count)]


@dataclass(frozen=True)
class RequestRecord:
    method: str
    route: str
    path: str
    query: dict[str, str]
    at: float  # time.monotonic() when the request arrived


class FakeGitLab:
    """Start with ``with FakeGitLab() as gl:``; ``gl.url`` is the base URL."""

    def __init__(self, token: str = TOKEN, projects: tuple[str, ...] = ("infra/ansible",)) -> None:
        self.token = token
        self.lock = threading.RLock()
        self.released = threading.Event()
        self.requests: list[RequestRecord] = []
        self.creates: Counter[str] = Counter()
        self.answered: Counter[str] = Counter()  # 201 answers fully written, per route
        self.finished: Counter[str] = Counter()  # requests fully handled, per method
        self.held = threading.Event()
        self.committed = threading.Condition(self.lock)
        self._faults: dict[tuple[str, str], deque[Fault]] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.projects = [
            Project(id=i + 1, path=p, base_url=self.url) for i, p in enumerate(projects)
        ]

    def __enter__(self) -> FakeGitLab:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # -- test controls --------------------------------------------------------------

    def project(self, ref: str | int = 1) -> Project:
        for project in self.projects:
            if str(project.id) == str(ref) or project.path == str(ref):
                return project
        raise ApiError(404, "404 Project Not Found")

    def inject(self, method: str, route: str, *faults: Fault | list[Fault]) -> None:
        queue = self._faults.setdefault((method.upper(), route), deque())
        for fault in faults:
            queue.extend(fault if isinstance(fault, list) else [fault])

    def count(self, method: str, route: str) -> int:
        with self.lock:
            return sum(1 for r in self.requests if r.method == method and r.route == route)

    def arrivals(self, method: str, route: str) -> list[float]:
        with self.lock:
            return [r.at for r in self.requests if r.method == method and r.route == route]

    def faults_left(self, method: str, route: str) -> int:
        with self.lock:
            return len(self._faults.get((method, route), ()))

    def wait_for_creates(self, route: str, count: int, timeout: float = 20.0) -> bool:
        with self.committed:
            return self.committed.wait_for(lambda: self.creates[route] >= count, timeout)

    def wait_for_answers(self, route: str, count: int, timeout: float = 20.0) -> bool:
        """Wait until ``count`` 201 answers on ``route`` were written to their sockets."""
        with self.committed:
            return self.committed.wait_for(lambda: self.answered[route] >= count, timeout)

    def wait_for_finished(self, method: str, count: int, timeout: float = 20.0) -> bool:
        """Wait until ``count`` requests with ``method`` were handled to their end."""
        with self.committed:
            return self.committed.wait_for(lambda: self.finished[method] >= count, timeout)

    def release_held(self) -> None:
        """Let every request held by a ``hold`` fault answer."""
        self.held.set()

    def _next_fault(self, method: str, route: str) -> Fault | None:
        with self.lock:
            queue = self._faults.get((method, route))
            return queue.popleft() if queue else None


# GitLab's API error messages for statuses raised without details (lib/api/helpers).
GENERIC_MESSAGES = {
    400: "400 Bad request", 401: "401 Unauthorized", 403: "403 Forbidden",
    404: "404 Not found", 405: "405 Method Not Allowed", 409: "409 Conflict",
    422: "422 Unprocessable Entity",
}
PROXY_PAGES = {
    502: b"<html><body><h1>502</h1><p>Whoops, GitLab is taking too much time to respond."
         b"</p></body></html>\n",
    503: b"<html><head><title>503 Service Temporarily Unavailable</title></head>"
         b"<body><center><h1>503 Service Temporarily Unavailable</h1></center>"
         b"<hr><center>nginx</center></body></html>\n",
}

ROUTES = {
    ("GET", ("issues",)): "issues",
    ("POST", ("issues",)): "issues",
    ("GET", ("issues", "*")): "issue",
    ("PUT", ("issues", "*")): "issue",
    ("GET", ("merge_requests",)): "merge_requests",
    ("POST", ("merge_requests",)): "merge_requests",
    ("GET", ("merge_requests", "*")): "merge_request",
    ("GET", ("labels",)): "labels",
    ("POST", ("labels",)): "labels",
    ("GET", ("merge_trains",)): "merge_trains",
    ("GET", ("merge_trains", "*")): "merge_train_branch",
    ("GET", ("merge_trains", "merge_requests", "*")): "merge_train_car",
    ("POST", ("merge_trains", "merge_requests", "*")): "merge_train_car",
    ("GET", ()): "project",
}


def _route(method: str, rest: list[str]) -> str | None:
    shape = tuple("*" if part.isdigit() and i > 0 else part for i, part in enumerate(rest))
    if shape[:1] == ("merge_trains",) and len(shape) == 2:
        shape = ("merge_trains", "*")  # a target branch name
    return ROUTES.get((method, shape))


def _handler_for(fake: FakeGitLab) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        gitlab = fake

    return Handler


class _Handler(BaseHTTPRequestHandler):
    gitlab: FakeGitLab
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else Nagle + delayed ACK add ~40 ms per answer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    # -- plumbing -----------------------------------------------------------------

    def _serve(self, method: str) -> None:
        try:
            self._serve_one(method)
        finally:
            with self.gitlab.lock:
                self.gitlab.finished[method] += 1
                self.gitlab.committed.notify_all()

    def _serve_one(self, method: str) -> None:
        fake = self.gitlab
        arrived = time.monotonic()
        raw_path, _, raw_query = self.path.partition("?")
        query = dict(parse_qsl(raw_query))
        body = self._read_body()
        parts = raw_path.split("/")
        route: str | None = None
        project_ref = ""
        rest: list[str] = []
        if parts[:4] == ["", "api", "v4", "projects"] and len(parts) >= 5:
            project_ref = unquote(parts[4])
            rest = [unquote(p) for p in parts[5:] if p != ""]
            route = _route(method, rest)
        record = RequestRecord(method, route or "unknown", raw_path, query, arrived)
        with fake.lock:
            fake.requests.append(record)
        if route is None:
            self._send(404, {"error": "404 Not Found"})
            return
        fault = fake._next_fault(method, route)
        if fault is not None and not fault.after_commit and self._apply_fault(fault, None):
            return
        if self.headers.get("PRIVATE-TOKEN") != fake.token:
            self._send(401, {"message": "401 Unauthorized"})
            return
        try:
            with fake.lock:
                project = fake.project(project_ref)
                status, payload, total = self._dispatch(method, route, project, rest, body, query)
                if method == "POST" and status == 201:
                    fake.creates[route] += 1
                    fake.committed.notify_all()
        except ApiError as exc:
            self._send(exc.status, {"message": exc.message})
            return
        if fault is not None and fault.after_commit and self._apply_fault(
            fault, (status, payload), route
        ):
            return
        if total is not None:
            self._send_page(payload, query, raw_path)
        else:
            self._send(status, payload)
        self._answered(route, status)

    def _answered(self, route: str, status: int) -> None:
        if status == 201:
            with self.gitlab.lock:
                self.gitlab.answered[route] += 1
                self.gitlab.committed.notify_all()

    def _dispatch(
        self, method: str, route: str, project: Project, rest: list[str],
        body: dict[str, Any], query: dict[str, str],
    ) -> tuple[int, Any, int | None]:
        iid = int(rest[-1]) if rest and rest[-1].isdigit() else 0
        if route == "project":
            return 200, {"id": project.id, "path_with_namespace": project.path,
                         "web_url": project.web_url, "default_branch": "main"}, None
        if route == "issues":
            if method == "GET":
                items = project.list_issues(query)
                return 200, items, len(items)
            return 201, project.create_issue(body), None
        if route == "issue":
            if method == "PUT":
                return 200, project.update_issue(iid, body), None
            return 200, project.issue(iid), None
        if route == "merge_requests":
            if method == "GET":
                items = project.list_mrs(query)
                return 200, items, len(items)
            return 201, project.create_mr(body), None
        if route == "merge_request":
            return 200, project.mr(iid), None
        if route == "labels":
            if method == "GET":
                return 200, project.labels, len(project.labels)
            return 201, project.create_label(body), None
        if route == "merge_train_car":
            if method == "POST":
                return 201, project.add_to_train(iid, {**query, **body}), None
            return 200, project.car(iid), None
        if route in ("merge_trains", "merge_train_branch"):
            branch = rest[1] if route == "merge_train_branch" else None
            scope = query.get("scope")
            cars = project.active_cars(branch) if scope == "active" else [
                c for c in project.cars if branch is None or c["target_branch"] == branch
            ]
            if scope == "complete":
                cars = [c for c in cars if c["status"] in ("merged", "skip_merged")]
            cars = sorted(cars, key=lambda c: c["id"], reverse=query.get("sort", "desc") == "desc")
            return 200, cars, len(cars)
        raise ApiError(404, "404 Not Found")

    def _apply_fault(
        self, fault: Fault, committed: tuple[int, Any] | None, route: str = ""
    ) -> bool:
        """Misbehave; True when the request is finished (no normal answer follows)."""
        if fault.kind == "status":
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            if fault.echo_token:
                message = f"token {self.headers.get('PRIVATE-TOKEN')} is not allowed here"
                self._send(fault.status, {"message": message}, headers)
            elif fault.status == 429:  # Rack::Attack's throttle answer is plain text
                self._send_raw(429, b"Retry later\n", "text/plain", headers)
            elif fault.status in PROXY_PAGES:  # nginx/Workhorse pages, not API JSON
                self._send_raw(fault.status, PROXY_PAGES[fault.status], "text/html", headers)
            else:
                message = GENERIC_MESSAGES.get(fault.status, f"{fault.status} Error")
                self._send(fault.status, {"message": message}, headers)
            return True
        if fault.kind == "slow":
            if self.gitlab.released.wait(fault.delay):
                self.close_connection = True  # the server is stopping: answer nothing
                return True
            if committed is None:
                return False  # late, then the normal answer
            with contextlib.suppress(OSError):  # the client gave up waiting
                self._send(*committed)
            return True
        if fault.kind == "hold":
            while not self.gitlab.held.wait(0.05):
                if self.gitlab.released.is_set():
                    self.close_connection = True
                    return True
            if committed is None:
                return False
            self._send(*committed)
            self._answered(route, committed[0])
            return True
        if fault.kind == "drop":
            self.close_connection = True
            return True
        raise ValueError(f"unknown fault kind {fault.kind!r}")

    def _read_body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return {}
        if "json" in (self.headers.get("Content-Type") or ""):
            data = json.loads(raw)
            return data if isinstance(data, dict) else {}
        return dict(parse_qsl(raw.decode()))

    def _send_page(self, items: list[Any], query: dict[str, str], path: str) -> None:
        per_page = max(1, min(100, int(query.get("per_page", 20))))
        page = max(1, int(query.get("page", 1)))
        total = len(items)
        pages = max(1, -(-total // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {
            "X-Total": str(total), "X-Total-Pages": str(pages), "X-Page": str(page),
            "X-Per-Page": str(per_page), "X-Next-Page": str(page + 1) if page < pages else "",
            "X-Prev-Page": str(page - 1) if page > 1 else "",
        }
        base = f"{self.gitlab.url}{path}"

        def link(n: int, rel: str) -> str:
            return f'<{base}?{urlencode({**query, "page": n, "per_page": per_page})}>; rel="{rel}"'

        links = [link(1, "first"), link(pages, "last")]
        if page < pages:
            links.insert(0, link(page + 1, "next"))
        if page > 1:
            links.insert(0, link(page - 1, "prev"))
        headers["Link"] = ", ".join(links)
        self._send(200, chunk, headers)

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send_raw(status, json.dumps(payload).encode(), "application/json", headers)

    def _send_raw(
        self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        # A client that gave up (a timeout the test injected) closed its end: the change
        # stays made, only the answer is lost, as on a real server.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
